import numpy as np
import pytest

from lsid.synth.fields import power_law_field, radial_power_spectrum


@pytest.mark.parametrize("beta", [8 / 3, 3.2, 2.0])
def test_power_law_spectrum_slope(beta):
    rng = np.random.default_rng(0)
    slopes = []
    for _ in range(4):
        f = power_law_field((256, 256), beta, rng)
        k, p = radial_power_spectrum(f)
        band = (k > 0.01) & (k < 0.2)
        slopes.append(np.polyfit(np.log(k[band]), np.log(p[band]), 1)[0])
    assert np.mean(slopes) == pytest.approx(-beta, abs=0.15)


def test_field_is_standardised_and_seeded():
    a = power_law_field((64, 80), 2.5, np.random.default_rng(3))
    b = power_law_field((64, 80), 2.5, np.random.default_rng(3))
    assert a.shape == (64, 80) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert abs(float(a.mean())) < 1e-5 and float(a.std()) == pytest.approx(1.0, rel=1e-4)


def test_outer_scale_flattens_spectrum():
    rng = np.random.default_rng(1)
    f = power_law_field((256, 256), 8 / 3, rng, pixel_size_m=100.0, outer_scale_m=2000.0)
    k, p = radial_power_spectrum(f)
    low = k < 100.0 / 4000.0  # wavelengths > 4 km (in cycles per pixel)
    slope_low = np.polyfit(np.log(k[low]), np.log(p[low]), 1)[0]
    assert slope_low > -1.5  # much flatter than -8/3
