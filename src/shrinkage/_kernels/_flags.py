"""Compiler flags shared by the kernels.

Reassociation and fused multiply-add let numba vectorise the inner products and row
updates that dominate coordinate descent (a latency-bound scalar sum becomes a SIMD one).
They change only the rounding order of sums; NaN and inf keep their IEEE meaning, which
the certificates and bound checks rely on (no ``nnan``/``ninf``).
"""

FASTMATH = {"reassoc", "contract"}
