"""Fast numeric functions generated from the derived closed forms, and the Monte Carlo simulator.

Importing this package does not import SymPy.
"""
