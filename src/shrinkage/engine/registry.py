"""The solvers the path driver may choose from, in order of preference.

:func:`~shrinkage.engine.contract.choose_solver` takes the first that accepts the family
and penalty by their declared attributes. A new solver is added here.
"""

from .concave import ConcaveSolver
from .concave_covariance import ConcaveCovariance
from .covariance import GaussianCovariance
from .cox import CoxNewton
from .group_concave import GroupConcaveGram, GroupConcaveSolver
from .group_gram import GroupGramSolver
from .groups import GroupSolver
from .multinomial import MultinomialSolver
from .naive import GaussianNaive
from .newton import ProximalNewton

SOLVERS = (GaussianCovariance, GaussianNaive, ProximalNewton, MultinomialSolver,
           ConcaveCovariance, ConcaveSolver,
           GroupGramSolver, GroupSolver, GroupConcaveGram, GroupConcaveSolver, CoxNewton)
