"""Every IMKL thema maps to a utility kind, and every kind has rule-table defaults."""

import pytest

from stadstwin.model.utilities import THEMA_TO_UTILITY, Utility, utility_from_thema
from stadstwin.rules import load_rules

# the IMKL thema code list as given in REFERENCE.md
IMKL_THEMAS = (
    "laagspanning middenspanning hoogspanning landelijkHoogspanningsnet gasLageDruk gasHogeDruk "
    "buisleidingGevaarlijkeInhoud petrochemie water warmte datatransport rioolVrijverval "
    "rioolOnderOverOfOnderdruk overig wees"
).split()


def test_every_imkl_thema_is_mapped():
    assert sorted(THEMA_TO_UTILITY) == sorted(IMKL_THEMAS)


def test_code_list_uri_form_is_accepted():
    uri = "http://definities.geostandaarden.nl/imkl2015/id/waarde/Thema/datatransport"
    assert utility_from_thema(uri) is Utility.TELECOM


def test_unknown_thema_names_the_value():
    with pytest.raises(KeyError, match="stadsverwarming"):
        utility_from_thema("stadsverwarming")


def test_heat_sources_and_receivers():
    rules = load_rules()
    receivers = {u for u in Utility if rules.utility(u).drinking_water}
    sources = {u for u in Utility if rules.utility(u).heat_source}
    assert receivers == {Utility.WATER}
    assert Utility.DISTRICT_HEATING in sources and Utility.ELECTRICITY_MV in sources
    assert Utility.WATER not in sources and Utility.TELECOM not in sources
    assert all(rules.utility(u).outer_diameter > 0 for u in Utility)


def test_key_round_trip():
    for u in Utility:
        assert Utility.from_key(u.key) is u
