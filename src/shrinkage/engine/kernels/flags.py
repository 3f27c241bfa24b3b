"""Compiler flags shared by the kernels.

Reassociation and fused multiply-add let numba vectorise the inner products and row
updates that dominate coordinate descent (a latency-bound scalar sum becomes a SIMD one).
They change only the rounding order of sums; NaN and inf keep their IEEE meaning, which
the certificates and bound checks rely on (no ``nnan``/``ninf``).

A kernel should state its flags. numba compiles a callee that sets no ``fastmath`` of its
own with its caller's, and the cache keeps that copy, so an unstated kernel rounds as
whichever caller compiled it first (a sparse gradient pass first reached from the gaussian
driver, with the flags, or from Python, without): two sessions, or two test workers
sharing a cache, then disagree in the last bits (the quick power-law text gaussian path's
coefficients by up to 4.4e-7, from ``moments.centred_combination``). A scan of every
compiled kernel's flags after fourteen kinds of fit in three orders
(``tests/test_compile_order.py`` checks the fits) found six such kernels, which were given
their flags; since then every kernel states them (``tests/test_kernel_flags.py`` reads the
source for it), each the flags it had been compiled with in practice (read from the
compiled symbols after those fits and after the test suite), so that no fit changed. Two
more had depended on the order: the Anderson weights (``anderson.anderson_weights``),
compiled without the flags where an ungrouped multinomial path came first in a session
(its coefficients then differed by up to 1.9e-9 from a session that had fitted a gaussian
path first), and the exact active-set step (``active_factor.factor_polish``), likewise
where a test's compiled caller reached it before the gaussian driver. A helper inlined
with ``inline="always"`` needs none: numba inlines it into its caller before lowering,
where the caller's flags apply. The loops over the stored entries of a sparse column
(``cd._sweep_sparse``, ``cd._weighted_moments_sparse``, ``certify._dots_sparse``) state
the flags too, so their gathers ``v[indices[k]]`` are vectorised. The sweep had in fact
run with them, inherited from ``cd_quadratic``, where it was meant to run without (vector
gathers were once measured three times slower on columns of ~20 entries). On 2026-12-07
the scalar sweep made the quick default paths 3-11 % faster on uniformly sparse columns
and 5-18 % slower on power-law text and one-hot factors (gaussian; binomial text and
factors within 1 %), so the sweep keeps the flags.

The CSC index arrays reach the kernels unsigned (``engine.problem.unsigned_index``: scipy's
int32 viewed as uint32). numba guards every access through a signed index against a
negative (wrap-around) value; in a gather ``r[xi[k]]`` that guard cost a third of a sparse
path's time (full-size default paths, 1 M stored entries: gaussian 0.80-0.92 -> 0.52-0.61 s,
binomial 3.8-4.2 -> 2.8-2.9 s; quick text and sparse paths 1.5-1.9x faster). A loop
``for k in range(xp[j], xp[j + 1])`` then runs over uint64, as does ``xp[j + 1] - xp[j]``:
index with them freely, but do not mix them with int64 where the result must stay an
integer (numba types uint64 with int64 as float64).

Small helpers with one call site per caller are inlined by numba (``inline="always"``):
as a function of its own, each costs about a tenth of a second of a first fit's
compilation (its own pipeline, LLVM module and cache entry), once more in every caller
that links it. Helpers that test ``X is None`` / ``xd is None`` are never inlined: numba
inlines untyped code, where that test no longer refers to an argument and so is not
pruned (see the package docstring).

A loop over columns or stored entries does its per-column arithmetic in its own body, not
in a helper that takes arrays: numba increments and decrements the reference count of
every array passed to a call, inlined or not, and where the helper holds a loop those
atomic updates are not pruned. Passing five arrays to a gather helper once per column
made the sparse coordinate-descent sweep 2.2x slower on power-law text (69 against 31 us
per sweep of 864 columns of about 14 stored entries). Helpers on scalars cost nothing.

Every compiled function also gets wrappers that numba builds whether or not they are used:
a C-callable one (nothing here takes a kernel's address) and a Python-callable one that
unboxes every argument (40 kB of LLVM IR for a kernel of twenty arguments). Each is lowered,
optimised and turned into machine code on the first fit. Kernels therefore go without the
first (:data:`KERNEL`), and those called only from other kernels without both
(:data:`INNER`); a first sparse gaussian fit compiles about 0.8 s faster.
"""

#: Reassociation and contraction (see above); never ``nnan``/``ninf``.
FASTMATH = {"reassoc", "contract"}

#: ``njit`` options of a kernel: cached on disk, run without the GIL, no C wrapper.
KERNEL = {"cache": True, "nogil": True, "no_cfunc_wrapper": True}

#: ``njit`` options of a kernel that only other kernels call: no Python wrapper either
#: (calling it from Python fails; give such a kernel :data:`KERNEL` once Python needs it).
INNER = {**KERNEL, "no_cpython_wrapper": True}
