"""``relulab.analysis``: lecture 2's analysis as tools — curvature, critical points, saddle escape."""
from .critical import ZERO_TOLERANCE, CriticalPoint, SaddleEscape, Spectrum, classify, escape_saddle, kind_of
from .critical_search import STATUSES, CriticalSearch, find_critical_point
from .doctor import (REMEDIES, THRESHOLDS, VERDICTS, Budget, CurveShape, Diagnosis, Reference, Thresholds,
                     curve_shape, diagnose, diagnose_run, loss_scale)
from .curvature import density, eigs, hessian, hvp, lanczos, trace
from .objective import Objective, batches, parameters_replaced
from .surface import (Surface, Trajectory, error_surface, filter_normalized_direction, linear_surface,
                      plot_contour, plot_surface_3d, slice_2d)
from .study import MinimumRatioStudy, minimum_ratio_study
