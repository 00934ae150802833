"""lsid.plots.interactive: static Bokeh HTML that needs no network, the hover columns, the series viewer, the
hvPlot velocity map."""

import logging

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


def test_static_figures_need_no_network_and_carry_the_hover_columns(caplog):
    from lsid.plots import interactive as it

    d = with_series(deformation(shape=(60, 50), motion=[((20, 30, 20, 30), (0, 0, -40))]))
    inv = fuse_orbits({"ascending": merge_boxes_to_objects(boxes("ascending", [(20, 30, 20, 30)]))})
    inv["v_p95_asc"] = -25.0
    html = it.show(it.velocity_image(d) * it.inventory_polygons(inv)).data
    assert "Bokeh" in html and "cdn.bokeh.org" not in html and "cdn.holoviz.org" not in html
    assert '"id"' in html and "v_p95_asc" in html  # hover columns
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], "warnings printed on the page"
    assert "bokeh" in it.static_setup().data.lower()
    series = it.object_series(d, inv)
    s = series["H1"]
    assert s.iloc[0] == 0 and s.iloc[-1] < -5  # subsiding against its surroundings
    viewer = it.series_viewer({"ascending": d}, inv)
    assert "H1" in it.show(viewer).data


def test_velocity_image_is_built_with_hvplot_and_renders_offline(monkeypatch):
    """The map is hvPlot's image of the velocity DataArray; it renders to a Bokeh model without a notebook
    extension, and as a standalone page with inline resources it loads no script from the network."""
    import re

    import holoviews as hv
    from bokeh.embed import file_html
    from bokeh.models import LinearColorMapper, Plot
    from bokeh.resources import INLINE
    from hvplot.converter import HoloViewsConverter

    from lsid.plots import interactive as it

    built = []
    image = HoloViewsConverter.image

    def spy(self, *args, **kwargs):
        built.append(self)
        return image(self, *args, **kwargs)

    monkeypatch.setattr(HoloViewsConverter, "image", spy)
    d = deformation(shape=(60, 50), motion=[((20, 30, 20, 30), (0, 0, -40))])
    img = it.velocity_image(d, limit=12.0)
    assert built, "velocity_image did not go through hvPlot"
    assert isinstance(img, hv.Image) and img.vdims[0].name == "velocity"
    assert [k.name for k in img.kdims] == ["x", "y"]
    np.testing.assert_allclose(img.dimension_values("x", expanded=False), d.x.values)
    model = hv.render(img * it.inventory_polygons(
        fuse_orbits({"ascending": merge_boxes_to_objects(boxes("ascending", [(20, 30, 20, 30)]))})), backend="bokeh")
    assert isinstance(model, Plot)
    assert model.frame_height / model.frame_width == pytest.approx(60 / 50, rel=0.02)  # equal aspect
    mapper = next(iter(model.select(LinearColorMapper)))
    assert (mapper.low, mapper.high) == (-12.0, 12.0)  # symmetric colour range around the scene median
    small = it.velocity_image(d, max_px=20)
    assert max(len(small.dimension_values(k, expanded=False)) for k in "xy") <= 20  # block-averaged
    html = file_html(model, resources=INLINE, title="velocity")
    assert not re.search(r"""<script[^>]*\bsrc\s*=\s*["']?(https?:)?//""", html, re.I), "a script from the network"
    assert not re.search(r"""<link[^>]*\bhref\s*=\s*["']?(https?:)?//""", html, re.I), "a stylesheet from the network"
    assert "Bokeh" in html and "<script" in html  # BokehJS inlined
