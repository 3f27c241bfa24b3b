"""numba kernels on plain arrays (the only code that touches X, called by the solvers).

Every kernel receives the design as ``(X, xd, xi, xp, sparse)``: a Fortran-ordered dense
array ``X`` (a 1 x 1 placeholder when sparse) and the CSC arrays ``data, indices, indptr``
(length-1 placeholders when dense), so one compiled kernel serves both layouts. Centring
is never applied to X itself: kernels subtract ``xm_j`` through scalar bookkeeping so that
sparse columns stay sparse. Dense loops are compiled with reassociation, sparse ones in
separate functions without it (see ``_flags``).
"""
