"""The "what" of a fit: families (losses on the linear predictor) and penalties.

Nothing here touches the design matrix. Families evaluate the loss, its gradient and
curvature on ``eta``; penalties lower themselves to per-feature arrays and state their
dual norm and optimality conditions. Both declare, by attributes, what solvers may rely
on (the solver contract of :mod:`shrinkage.engine.contract`).

May import: NumPy, SciPy, numba, :mod:`shrinkage.validation`. Never the engine, tuning
or anything above them.
"""
