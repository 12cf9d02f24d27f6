"""Circuits from models: NumPy layers, scikit-learn MLPs, QONNX graphs."""

from hdlgen.frontends.layers import from_layers, load_npz
from hdlgen.frontends.qonnx import from_qonnx, load_qonnx
from hdlgen.frontends.sklearn import ImportReport, from_sklearn, load_sklearn

__all__ = ["ImportReport", "from_layers", "from_qonnx", "from_sklearn", "load_npz", "load_qonnx", "load_sklearn"]
