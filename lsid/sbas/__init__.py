"""SBAS-InSAR: network selection and the small-baseline inversion (Berardino et al. 2002)."""

from lsid.sbas.invert import invert, set_reference_point
from lsid.sbas.network import components, pair_table, select_network

__all__ = ["invert", "set_reference_point", "components", "pair_table", "select_network"]
