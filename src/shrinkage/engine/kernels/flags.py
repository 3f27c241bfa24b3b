"""Compiler flags shared by the kernels.

Reassociation and fused multiply-add let numba vectorise the inner products and row
updates that dominate coordinate descent (a latency-bound scalar sum becomes a SIMD one).
They change only the rounding order of sums; NaN and inf keep their IEEE meaning, which
the certificates and bound checks rely on (no ``nnan``/``ninf``).

Loops over the stored entries of a sparse column go in separate functions compiled without
these flags: allowed to reorder, LLVM turns the gather ``v[indices[k]]`` into vector
gathers, about three times slower than the scalar loop on columns of ~20 entries.

Small helpers with one call site per caller are inlined by numba (``inline="always"``):
as a function of its own, each costs about a tenth of a second of a first fit's
compilation (its own pipeline, LLVM module and cache entry), once more in every caller
that links it. Helpers that test ``X is None`` / ``xd is None`` are never inlined: numba
inlines untyped code, where that test no longer refers to an argument and so is not
pruned (see the package docstring).
"""

FASTMATH = {"reassoc", "contract"}
