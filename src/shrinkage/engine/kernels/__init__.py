"""numba primitives on plain arrays: the only code that touches X.

Primitives, not strategy: sweeps of coordinate descent, gradients, KKT scans, duality-gap
terms, Gram and moment sums, active-set Newton steps, Newton-step pieces for the GLM
families. The strategies that combine them (working sets, certificate rounds, the path
loop) live in the solver modules of :mod:`shrinkage.engine`.

Every kernel receives the design as ``(X, xd, xi, xp, sparse)``: a Fortran-ordered dense
array ``X`` (None when sparse) and the CSC arrays ``data, indices, indptr`` (None when
dense). Code for one layout sits under ``if X is not None:`` or ``if xd is not None:``
(two separate tests, never an ``else``): numba prunes a branch on a None-typed argument
before typing it, down through every callee, so a dense fit compiles no sparse loop and
a sparse fit no dense one (a runtime flag would compile both, about a second more of a
first fit). ``sparse`` is the same fact as a plain bool, for tests that touch neither
array. Centring is never applied to X itself: kernels subtract ``xm_j`` through scalar
bookkeeping so that sparse columns stay sparse. Dense loops are compiled with
reassociation, sparse ones in separate functions without it (see ``flags``).

May import: NumPy, numba, other kernels, and the compiled family math of
:mod:`shrinkage.model.glm_math`; nothing else of shrinkage.
"""
