"""lsid.plots.interactive: static Bokeh HTML that needs no network, the hover columns, the series viewer."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from lsid.inventory.fusion import fuse_orbits
from lsid.inventory.objects import merge_boxes_to_objects
from tests.helpers import boxes, deformation

pytest.importorskip("holoviews")


def with_series(d: xr.Dataset, n: int = 12) -> xr.Dataset:
    """Add a displacement series (mm) that grows linearly at the map's velocity."""
    t = pd.date_range("2019-01-01", periods=n, freq="30D").values.astype("datetime64[ns]")
    years = (t - t[0]).astype("timedelta64[D]").astype(float) / 365.25
    disp = years[:, None, None] * d.velocity.values[None]
    return d.assign(displacement=(("time", "y", "x"), disp.astype(np.float32))).assign_coords(time=t)


def test_static_figures_need_no_network_and_carry_the_hover_columns():
    from lsid.plots import interactive as it

    d = with_series(deformation(shape=(60, 50), motion=[((20, 30, 20, 30), (0, 0, -40))]))
    inv = fuse_orbits({"ascending": merge_boxes_to_objects(boxes("ascending", [(20, 30, 20, 30)]))})
    inv["v_p95_asc"] = -25.0
    html = it.show(it.velocity_image(d) * it.inventory_polygons(inv)).data
    assert "Bokeh" in html and "cdn.bokeh.org" not in html and "cdn.holoviz.org" not in html
    assert '"id"' in html and "v_p95_asc" in html  # hover columns
    assert "bokeh" in it.static_setup().data.lower()
    series = it.object_series(d, inv)
    s = series["H1"]
    assert s.iloc[0] == 0 and s.iloc[-1] < -5  # subsiding against its surroundings
    viewer = it.series_viewer({"ascending": d}, inv)
    assert "H1" in it.show(viewer).data
