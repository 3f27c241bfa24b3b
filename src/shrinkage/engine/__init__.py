"""The "how" of a fit: the path driver, the solver contract and the solvers.

``path`` walks the strength grid; ``contract`` states what the driver asks of a solver
and chooses one by the declared attributes of the family and penalty; ``registry`` lists
the solvers (``naive`` and ``covariance`` for the gaussian family, ``newton`` for the
compiled GLMs, ``multinomial``); ``problem`` holds a fit as plain arrays; ``gram`` caches
weighted Gram matrices and moments; ``ridge`` is exact ridge from one decomposition;
``shared`` is the entry for tuning, which fits one design many times; ``kernels`` are the
numba primitives.

May import: :mod:`shrinkage.model`, :mod:`shrinkage.results`,
:mod:`shrinkage.validation`. Never tuning, estimators or the faces above them.
"""
