"""numba primitives on plain arrays: the only code that touches X.

Primitives, not strategy: sweeps of coordinate descent, gradients, KKT scans, duality-gap
terms, Gram and moment sums, active-set Newton steps, Newton-step pieces for the GLM
families. The strategies that combine them (working sets, certificate rounds, the path
loop) live in the solver modules of :mod:`shrinkage.engine`.

Every kernel receives the design as ``(X, xd, xi, xp, sparse)``: a Fortran-ordered dense
array ``X`` (a 1 x 1 placeholder when sparse) and the CSC arrays ``data, indices, indptr``
(length-1 placeholders when dense), so one compiled kernel serves both layouts. Centring
is never applied to X itself: kernels subtract ``xm_j`` through scalar bookkeeping so that
sparse columns stay sparse. Dense loops are compiled with reassociation, sparse ones in
separate functions without it (see ``flags``).

May import: NumPy, numba, other kernels, and the compiled family math of
:mod:`shrinkage.model.glm_math`; nothing else of shrinkage.
"""
