"""``torch.utils.data``: relulab's datasets, samplers, collation and DataLoader (PyTorch's path and names)."""
from ....utils import data as _data
from ..._missing import missing_in, reexport

reexport(globals(), _data, names=_data.__all__)

__getattr__ = missing_in("torch.utils.data")
