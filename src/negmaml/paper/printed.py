"""The paper's *printed* equations, transcribed as data to compare against the derivations.

Each entry is a SymPy-parsable string in the symbols of :mod:`negmaml.symbolic` (plus ``mu2``,
``mu3``, ``mu4``, ``mu11``, ``mu21``, ``mu12``, ``mu22`` for Lemma 1's moments at ``n = n_t``,
``h_t``, ``h_r`` and ``g1..g4`` where the paper uses them, and ``Tr_*`` names for the traces of
Theorem 3). The text in ``../shared/paper/`` is extracted from a PDF and loses brackets and
fraction bars; each entry records the extracted text it was read from and, where the layout is
ambiguous, the reading chosen. A transcription is a reading of the paper, never an input to a
derivation.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PRINTED", "PrintedEquation"]


@dataclass(frozen=True)
class PrintedEquation:
    """One printed equation: its number, the expression as printed, and how it was read."""

    equation: int
    name: str
    expr: str
    extracted: str
    reading: str = ""


PRINTED: tuple[PrintedEquation, ...] = (
    PrintedEquation(31, "E[W]", "n", "E X T X = nI p (31)"),
    PrintedEquation(32, "E[W^2]", "n*(n + p + 1)", "E X T X 2 = n (n + p + 1) I p = n 2 µ 2 I p (32)"),
    PrintedEquation(
        33, "E[W^3]", "n*(n**2 + p**2 + 3*n*p + 3*n + 3*p + 4)",
        "E X T X 3 = n n 2 + p 2 + 3np + 3n + 3p + 4 I p = n 3 µ 3 I p (33)"),
    PrintedEquation(
        35, "E[W^4]",
        "n*(n**3 + p**3 + 6*n**2*p + 6*n*p**2 + 6*n**2 + 6*p**2 + 17*n*p + 21*n + 21*p + 20)",
        "E X T X 4 = n n 3 + p 3 + 6n 2 p + 6np 2 + ( ) +6n 2 + 6p 2 + 17np + 21n + 21p + 20 I p"
        " = n 4 µ 4 I p (35)",
        "Eqs. 34-35 are one equation broken over two lines; the number 35 labels it."),
    PrintedEquation(36, "E[W Tr W]", "n**2*p + 2*n",
                    "E X T X Tr X T X = n 2 p + 2n I p = pn 2 µ 1,1 I p (36)"),
    PrintedEquation(
        37, "E[W^2 Tr W]", "n*(n**2*p + n*p**2 + n*p + 4*n + 4*p + 4)",
        "E X T X 2 Tr X T X = n n 2 p + np 2 + np + 4n + 4p + 4 I p = pn 3 µ 2,1 I p (37)"),
    PrintedEquation(
        38, "E[W Tr W^2]", "n*(n**2*p + n*p**2 + n*p + 4*n + 4*p + 4)",
        "E X T XTr X T X 2 = n n 2 p + np 2 + np + 4n + 4p + 4 I p = pn 3 µ 1,2 I p (38)"),
    PrintedEquation(
        39, "E[W^2 Tr W^2]",
        "n*(n**3*p + n*p**3 + 2*n**2*p**2 + 2*n**2*p + 2*n*p**2 + 8*n**2 + 8*p**2 + 21*n*p"
        " + 20*n + 20*p + 20)",
        "E X T X 2 Tr X T X 2 = n n 3 p + np 3 + 2n 2 p 2 + 2n 2 p + 2np 2 + ( ) +8n 2 + 8p 2"
        " + 21np + 20n + 20p + 20 I p = pn 4 µ 2,2 I p ( )",
        "Eqs. 39-40 are one equation broken over two lines; the number 39 labels it."),
    PrintedEquation(
        42, "E[W D W] (coefficient of D; coefficient of Tr(D) I)", "n*(n + 1); n",
        "E X T XDX T X = n (n + 1) D + nTr (D) I p (42)",
        "Stored as the two coefficients, separated by ';'."),
    PrintedEquation(43, "X_v X_v^T (leading order)", "p", "X v(i) X v(i) T = p I nv + O ξ 1/2 (43)"),
    PrintedEquation(44, "X_v W_t X_v^T (leading order)", "p*n_t",
                    "X v(i) X t(i) T X t(i) X v(i) T = pn t I nv + O ξ 3/2 (44)"),
    PrintedEquation(45, "X_v W_t^2 X_v^T (leading order)", "p*n_t*(n_t + p + 1)",
                    "X v(i) X t(i) T X t(i) X t(i) T X t(i) X v(i) T = pn t (n t + p + 1)I nv"
                    " + O ξ 5/2 (45)"),
    PrintedEquation(55, "X_v^T X_v (leading order)", "n_v", "X v T X v = n v I p + O ξ 1/2 (55)"),
    PrintedEquation(56, "W_t W_v (leading order)", "n_t*n_v",
                    "X t T X t X v T X v = n t n v I p + O ξ 3/2 (56)"),
    PrintedEquation(57, "W_t W_v W_t (leading order)", "n_v*n_t*(n_t + p + 1)",
                    "X t T X t X v T X v X t T X t = n v n t (n t + p + 1)I p + O ξ 5/2"),
    PrintedEquation(75, "B B^T / p, overparameterized", "(1 - alpha_t)**2 + alpha_t**2*(p + 1)/n_t",
                    "1 p BB T = (1 -α t ) 2 + α 2 t p + 1 n t I nvm + O ξ -1/2 (75)"),
    PrintedEquation(76, "Gamma, overparameterized",
                    "nu**2*((1 - alpha_t)**2 + alpha_t**2*(p + 1)/n_t)"
                    " + sigma**2*(1 + alpha_t**2*p/n_t)",
                    "Γ = ν 2 (1 -α t ) 2 + α 2 t p + 1 n t + σ 2 1 + α 2 t p n t I nvm"
                    " + O ξ -1/2 (76)"),
    PrintedEquation(
        5, "Theorem 1 test loss",
        "sigma**2/2*(1 + alpha_r**2*p/n_r) + h_r*(nu**2/2*(1 + n_v*m/p)"
        " + (1 - n_v*m/p)*init_dist2/2 + sigma**2*n_v*m/(2*p)*(1 + alpha_t**2*p/n_t)/h_t)",
        "L test = σ 2 2 1 + α 2 r p n r + + h r ν 2 2 1 + n v m p + 1 2 1 - n v m p |ω 0 -w 0 | 2"
        " + σ 2 n v m 2p 1 + α 2 t p nt h t + O ξ -3/2 (5)",
        "Read as sigma^2/2 (1 + alpha_r^2 p/n_r) + h_r [nu^2/2 (1 + n_v m/p) + 1/2 (1 - n_v m/p)"
        " |omega_0 - w_0|^2 + sigma^2 n_v m/(2p) (1 + alpha_t^2 p/n_t)/h_t]; the appendix's"
        " Eqs. 80-81 print the same."),
    PrintedEquation(6, "h_t", "(1 - alpha_t)**2 + alpha_t**2*(p + 1)/n_t",
                    "h t = (1 -α t ) 2 + α 2 t p + 1 n t (6)"),
    PrintedEquation(7, "h_r", "(1 - alpha_r)**2 + alpha_r**2*(p + 1)/n_r",
                    "h r = (1 -α r ) 2 + α 2 r p + 1 n r"),
    PrintedEquation(
        8, "stationary points alpha_t^- (argmin); alpha_t^+ (argmax) of Theorem 1",
        "-(n_t + 1)/(2*p) - sqrt(((n_t + 1)/(2*p))**2 + n_t/p);"
        " -(n_t + 1)/(2*p) + sqrt(((n_t + 1)/(2*p))**2 + n_t/p)",
        "α ± t = - n t + 1 2p ± n t + 1 2p 2 + n t p (8)",
        "The square root's sign is lost in the extraction; the text calls alpha^+ 'always positive',"
        " which needs sqrt(((n_t+1)/(2p))^2 + n_t/p)."),
    PrintedEquation(
        9, "Theorem 2 test loss",
        "sigma**2/2*(1 + alpha_r**2*p/n_r) + h_r*nu**2/2 + h_r/(2*h_t**2)*p/(n_v*m)*("
        "sigma**2*(h_t + alpha_t**2/n_t*((n_v + 1)*g1 + p*g2)) + nu**2/p*((n_v + 1)*g3 + p*g4))",
        "L test = σ 2 2 1 + α 2 r p n r + h r ν 2 2 + + h r 2h t 2 p n v m σ 2 h t + α 2 t n t"
        " [(n v + 1) g 1 + pg 2 ] + ν 2 p [(n v + 1) g 3 + pg 4 ] + O (mξ) -3/2 (9)",
        "Read as ... + h_r/(2 h_t^2) p/(n_v m) {sigma^2 [h_t + alpha_t^2/n_t ((n_v+1) g_1 + p g_2)]"
        " + nu^2/p [(n_v+1) g_3 + p g_4]}; the g_i are those of Eqs. 92 and 94 (Eqs. 98-101, which"
        " define them, are missing from the extracted text)."),
    PrintedEquation(
        10, "dL/dalpha_t at alpha_t = 0 (Theorem 2)", "sigma**2*p/(n_v*m)",
        "∂L test ∂α t αt=0 = σ 2 p n v m ≥ 0 (10)"),
    PrintedEquation(
        14, "Theorem 3 test loss",
        "Tr_Sw_Hr/2 + sigma**2/2*(1 + alpha_r**2/n_r*Tr_S2) + n_v*m/2*Tr_Hr_Ht/Tr_Ht**2*("
        "Tr_Sw_Ht + sigma**2*(1 + alpha_t**2/n_t*Tr_S2))",
        "L test = 1 2 Tr (Σ w H r ) + σ 2 2 1 + α 2 r n r Tr Σ 2 + + 1 2 n v m Tr (H r H t )"
        " Tr (Σ w H t ) + σ 2 1 + α 2 t nt Tr Σ 2 Tr (H t ) 2 + O ξ -3/2 (14)",
        "Read as 1/2 Tr(Sigma_w H_r) + sigma^2/2 (1 + alpha_r^2/n_r Tr Sigma^2) + 1/2 n_v m"
        " Tr(H_r H_t) [Tr(Sigma_w H_t) + sigma^2 (1 + alpha_t^2/n_t Tr Sigma^2)] / Tr(H_t)^2."),
    PrintedEquation(
        15, "H_t (matrix)", "S*(1 - alpha_t*S)**2 + alpha_t**2/n_t*(F - S**3)",
        "H t = Σ (I -α t Σ) 2 + α 2 t n t F -Σ 3 (15)",
        "S stands for Sigma, parsed as a non-commuting symbol and compared with the derived matrix"
        " polynomial by expansion."),
    PrintedEquation(
        65, "Test loss given E|omega - w0|^2 (Eq. 65)",
        "sigma**2/2*(1 + alpha_r**2*p/n_r) + ((1 - alpha_r)**2 + alpha_r**2*(p + 1)/n_r)/2"
        "*(nu**2 + E_dist2)",
        "L test = σ 2 2 1 + α 2 r p n r + 1 2 (1 -α r ) 2 + α 2 r p + 1 n r ν 2 + E |ω -w 0 | 2",
        "E_dist2 stands for E|omega* - w_0|^2."),
    PrintedEquation(
        79, "E|omega* - w0|^2, overparameterized",
        "(1 - n_v*m/p)*init_dist2 + n_v*m/p*(nu**2 + sigma**2*(1 + alpha_t**2*p/n_t)"
        "/((1 - alpha_t)**2 + alpha_t**2*(p + 1)/n_t))",
        "E |ω -w 0 | 2 = 1 - n v m p |ω 0 -w 0 | 2 + n v m p ν 2 + σ 2 1 + α 2 t p nt (1 -α t ) 2"
        " + α 2 t p+1 nt + O ξ -3/2 (79)"),
    PrintedEquation(
        86, "B^T B / (n_v m), underparameterized", "1 - 2*alpha_t + alpha_t**2*mu2",
        "1 n v m B T B = 1 -2α t + α 2 t µ 2 I p + O (mξ) -1/2 (86)"),
    PrintedEquation(
        92, "g3; g4 (brackets of Eq. 92)",
        "1 - 4*alpha_t + 6*alpha_t**2*mu2 - 4*alpha_t**3*mu3 + alpha_t**4*mu4;"
        " 1 - 4*alpha_t + 2*alpha_t**2*mu2 + 4*alpha_t**2*mu11 - 4*alpha_t**3*mu21"
        " + alpha_t**4*mu22",
        "= mn v (n v + 1) 1 -4α t + 6α 2 t µ 2 -4α 3 t µ 3 + α 4 t µ 4 I p + + mn v p 1 -4α t"
        " + 2α 2 t µ 2 + 4α 2 t µ 1,1 -4α 3 t µ 2,1 + α 4 t µ 2,2 I p (92)",
        "The brackets multiplying m n_v (n_v+1) and m n_v p; Eq. 9 calls them g_3 and g_4."),
    PrintedEquation(
        94, "g1; g2 (brackets of Eq. 94, divided by n_t)",
        "1 - 2*alpha_t*mu2 + alpha_t**2*mu3; 1 - 2*alpha_t*mu11 + alpha_t**2*mu21",
        "= mn v (n v + 1) n t 1 -2α t µ 2 + α 2 t µ 3 I p + mn v n t p 1 -2α t µ 1,1 + α 2 t µ 2,1 I p",
        "The brackets multiplying m n_v (n_v+1) n_t and m n_v n_t p; Eq. 9 calls them g_1, g_2."),
    PrintedEquation(
        111, "F for Gaussian x", "2*S**3 + S*Tr_S2",
        "if x is Gaussian, then F = 2Σ 3 + ΣTr Σ 2",
        "S stands for Sigma; also printed after Eq. 17."),
)
