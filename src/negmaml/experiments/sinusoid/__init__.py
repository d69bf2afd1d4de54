"""Sinusoid regression (Finn et al. 2017), the standard MAML benchmark, swept over alpha_t.

Beyond the paper: Bernacchia (ICLR 2021) does not study this benchmark. The package measures the
sign of the optimal training rate alpha_t on it, with finite task pools and fresh tasks.

Modules (JAX, the optional ``nn`` extra, is imported only inside functions):

- ``tasks``: the task law ``y = A sin(x - phi)`` and its samplers;
- ``maml``: the 1-40-40-1 ReLU network, one-step MAML with the full second-order
  meta-gradient, Adam, batched over runs and alpha_t;
- ``plain``: a second, plain implementation (loops over tasks, no vmap or jit);
- ``predict``: predictions made before the sweep is analysed (tangent kernel, linearized
  network);
- ``sweep``: presets, training with checkpoints, meta-test;
- ``output``: statistics, JSON, Markdown table and plot.
"""
