import datetime as dt

import pytest
import yaml

from lsid import paper
from lsid.config import PROFILES, TilesConfig, TrainingConfig, load_aoi
from lsid.errors import ConfigError
from tests.helpers import AOI


def _write(tmp_path, data):
    p = tmp_path / "aoi.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def _base():
    return yaml.safe_load(AOI.read_text())


@pytest.mark.parametrize("profile", PROFILES)
def test_builtin_aoi_loads_at_every_profile(profile):
    aoi = load_aoi(AOI, profile)
    assert aoi.profile == profile
    assert aoi.synthetic and "synthetic" in aoi.title.lower()
    assert aoi.synth.grid.crs == "EPSG:32647"
    assert aoi.synth.acquisitions.start == dt.date(2019, 1, 1)


def test_paper_profile_has_paper_sizes():
    aoi = load_aoi(AOI, "paper")
    assert aoi.synth.grid.shape == (3565, 2285) == paper.SCENE_SHAPE
    assert aoi.synth.acquisitions.ascending.n_dates == 88 == paper.IMAGES["ascending"]
    assert aoi.synth.acquisitions.descending.n_dates == 160 == paper.IMAGES["descending"]
    assert aoi.synth.acquisitions.descending.repeat_days == 6 == paper.DESCENDING_REPEAT_DAYS
    assert aoi.sbas.max_pairs == {"ascending": 216, "descending": 238} == paper.PAIRS_KEPT


def test_defaults_are_the_papers():
    t = load_aoi(AOI, "paper").training
    assert (t.lr, t.batch_size, t.epochs, t.patience) == (0.0025, 5, 300, 10) \
        == (paper.LR, paper.BATCH_SIZE, paper.EPOCHS, paper.PATIENCE)
    tiles = TilesConfig()
    assert (tiles.size, tiles.augment_factor) == (512, 3) == (paper.TILE_SIZE_PX, paper.AUGMENT_FACTOR)
    assert "(the paper: 0.0025)" in TrainingConfig.model_fields["lr"].description


def test_paper_numbers_are_registered_once():
    names = [k for k, v in vars(paper).items() if k.isupper() and k not in ("NUMBERS", "PRETTY", "CITATION")]
    assert sorted(names) == sorted(paper.NUMBERS)
    for name, number in paper.NUMBERS.items():
        assert getattr(paper, name) is number.value and number.section.startswith("§") and number.what
    assert paper.pair(paper.PAIRS_KEPT) == "216 / 238"


def test_profile_section_of_file_overrides_builtin(tmp_path):
    data = _base()
    data["profiles"] = {"smoke": {"synth": {"landslides": {"count": 5, "n_giant": 0}}}}
    aoi = load_aoi(_write(tmp_path, data), "smoke")
    assert aoi.synth.landslides.count == 5
    assert aoi.synth.grid.shape == (128, 112)  # built-in smoke size kept


def test_unknown_key_names_key_and_allowed(tmp_path):
    data = _base()
    data["synth"]["landslides"]["cuont"] = 3
    with pytest.raises(ConfigError) as e:
        load_aoi(_write(tmp_path, data), "smoke")
    msg = str(e.value)
    assert "synth.landslides.cuont" in msg and "count" in msg and "aoi.yaml" in msg


def test_unknown_top_level_key(tmp_path):
    data = _base()
    data["sede"] = 1
    with pytest.raises(ConfigError, match="unknown key 'sede'.*seed"):
        load_aoi(_write(tmp_path, data), "cpu")


def test_out_of_range_value_names_key_and_range(tmp_path):
    data = _base()
    data["synth"]["landslides"]["min_slope_deg"] = 75
    with pytest.raises(ConfigError) as e:
        load_aoi(_write(tmp_path, data), "cpu")
    msg = str(e.value)
    assert "synth.landslides.min_slope_deg" in msg and "75" in msg and "less than or equal to 60" in msg


def test_inconsistent_ranges_are_refused(tmp_path):
    data = _base()
    data["synth"]["landslides"]["min_length_m"] = 5000
    with pytest.raises(ConfigError, match="min_length_m"):
        load_aoi(_write(tmp_path, data), "cpu")


def test_too_many_dates_for_period(tmp_path):
    data = _base()
    data["profiles"] = {"cpu": {"synth": {"acquisitions": {"ascending": {"n_dates": 500}}}}}
    with pytest.raises(ConfigError, match="ascending.n_dates=500"):
        load_aoi(_write(tmp_path, data), "cpu")


def test_unknown_profile():
    with pytest.raises(ConfigError, match="unknown profile 'gpu'.*smoke, cpu, paper"):
        load_aoi(AOI, "gpu")


def test_unknown_profile_in_file(tmp_path):
    data = _base()
    data["profiles"] = {"laptop": {}}
    with pytest.raises(ConfigError, match="laptop"):
        load_aoi(_write(tmp_path, data), "cpu")


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_aoi(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_aoi(bad)


def test_bad_name(tmp_path):
    data = _base()
    data["name"] = "My Area!"
    with pytest.raises(ConfigError, match="key 'name'"):
        load_aoi(_write(tmp_path, data))


def test_digest_changes_with_parameters(tmp_path):
    a = load_aoi(AOI, "smoke")
    data = _base()
    data["seed"] = 7
    b = load_aoi(_write(tmp_path, data), "smoke")
    assert a.digest() != b.digest() and a.digest() == load_aoi(AOI, "smoke").digest()


def test_real_area_needs_inputs_and_names_input_keys(tmp_path):
    data = _base()
    data["synthetic"] = False
    with pytest.raises(ConfigError, match="needs 'inputs'"):
        load_aoi(_write(tmp_path, data), "cpu")
    data["inputs"] = {"ascending": {"format": "geotiff", "path": "ifgs", "wavelenght_m": 0.05}}
    with pytest.raises(ConfigError, match="inputs.ascending.wavelenght_m.*wavelength_m"):
        load_aoi(_write(tmp_path, data), "cpu")
    data["inputs"]["ascending"].pop("wavelenght_m")
    with pytest.raises(ConfigError, match=r"key 'inputs.ascending.path' = 'ifgs': .*ifgs does not exist"):
        load_aoi(_write(tmp_path, data), "cpu", check_paths=True)  # lsid check: input paths must exist
    (tmp_path / "ifgs").mkdir()
    aoi = load_aoi(_write(tmp_path, data), "cpu")
    assert aoi.inputs.ascending.path == str((tmp_path / "ifgs").resolve())  # relative to the AOI file
