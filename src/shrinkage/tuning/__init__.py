"""Choosing the strength: folds, cross-validation, selection rules and their grammar.

``folds`` draws fold assignments; ``metrics`` scores predictions; ``cv`` cross-validates
whole warm-started paths (``grid_cv`` over ``l1_ratio`` x ``lam``, ``relaxed`` the relaxed
lasso over ``gamma`` x ``lam``) and runs fits side by side through ``parallel``;
``selection`` holds the rules (the strongest setting within k SE of the best, on any axis)
and the one rule grammar; ``information`` gives AIC/BIC/EBIC; ``ridge`` the exact ridge
path with leave-one-out; ``curves`` the overfitting comparison.

May import: :mod:`shrinkage.engine` (through its public entries ``path``, ``shared``,
``ridge``, ``gram``), :mod:`shrinkage.model`, :mod:`shrinkage.results`,
:mod:`shrinkage.validation`. Never estimators or the faces.
"""
