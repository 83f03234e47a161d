"""The scikit-learn names kgmed uses, imported in one place.

scikit-learn ships no type hints, so each import here is marked once for
mypy. Modules import from this one inside the functions that need it, so
that ``import kgmed`` does not load scikit-learn.
"""

from sklearn.base import clone  # type: ignore[import-untyped]
from sklearn.cluster import (  # type: ignore[import-untyped]
    DBSCAN,
    HDBSCAN,
    AgglomerativeClustering,
    KMeans,
    MiniBatchKMeans,
)
from sklearn.compose import ColumnTransformer  # type: ignore[import-untyped]
from sklearn.ensemble import (  # type: ignore[import-untyped]
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.feature_extraction.text import TfidfTransformer  # type: ignore[import-untyped]
from sklearn.inspection import permutation_importance  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression, Ridge  # type: ignore[import-untyped]
from sklearn.metrics import (  # type: ignore[import-untyped]
    average_precision_score,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
    silhouette_score,
)
from sklearn.model_selection import KFold, StratifiedKFold  # type: ignore[import-untyped]
from sklearn.neighbors import NearestNeighbors  # type: ignore[import-untyped]
from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]
from sklearn.preprocessing import (  # type: ignore[import-untyped]
    FunctionTransformer,
    StandardScaler,
)

__all__ = [
    "DBSCAN",
    "HDBSCAN",
    "AgglomerativeClustering",
    "ColumnTransformer",
    "FunctionTransformer",
    "HistGradientBoostingClassifier",
    "HistGradientBoostingRegressor",
    "KFold",
    "KMeans",
    "LogisticRegression",
    "MiniBatchKMeans",
    "NearestNeighbors",
    "Pipeline",
    "Ridge",
    "StandardScaler",
    "StratifiedKFold",
    "TfidfTransformer",
    "average_precision_score",
    "clone",
    "mean_absolute_error",
    "permutation_importance",
    "r2_score",
    "roc_auc_score",
    "silhouette_score",
]
