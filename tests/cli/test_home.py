"""What the quickstart leaves in a home: its profile, which becomes the default only when the
home has none, the next commands spelled for that home, and its emulator as the home's HubSpot."""

from __future__ import annotations

import shlex

import pytest

from headwater.cli import home as homes
from headwater.cli.remote.profiles import Profile, ProfileBook, load_book, save_book
from headwater.errors import QuickstartError
from headwater.settings import HubSpotEmulatorSettings, get_settings, record_home_settings


def _profile(name: str, endpoint: str = "http://127.0.0.1:1") -> Profile:
    return Profile(name, endpoint, "Q@AdobeOrg", "prod", "client", "secret")


def test_the_quickstart_profile_is_the_default_only_in_a_home_without_one(tmp_path) -> None:
    fresh = tmp_path / "fresh"
    homes.remember_profile(fresh, _profile(homes.PROFILE))
    assert load_book(fresh).default == homes.PROFILE
    assert homes.selected_by_default(fresh, homes.PROFILE)
    bare = homes.next_commands(fresh, flow_id="F", org="Q@AdobeOrg", running=True)
    assert all("--profile" not in line for line in bare)

    used = tmp_path / "used"
    save_book(used, ProfileBook(profiles={"prod": _profile("prod")}, default="prod"))
    homes.remember_profile(used, _profile(homes.PROFILE))
    assert load_book(used).default == "prod"
    assert not homes.selected_by_default(used, homes.PROFILE)
    lines = homes.next_commands(used, flow_id="F", org="Q@AdobeOrg", running=True)
    api_lines = [line for line in lines if " query " not in line]
    assert api_lines and all("--profile quickstart" in line for line in api_lines)
    # Every line names this home, which is not the default one.
    assert all(shlex.split(line)[0] == f"HEADWATER_HOME={used}" for line in lines)

    # Without a server running, only the local commands are offered.
    stopped = homes.next_commands(used, flow_id="F", org="Q@AdobeOrg", running=False)
    assert [shlex.split(line)[2] for line in stopped] == ["query", "doctor"]


def test_the_quickstart_does_not_take_over_a_home_with_another_hubspot(tmp_path) -> None:
    record_home_settings(tmp_path, hubspot_base_url="https://api.hubapi.com")
    with pytest.raises(QuickstartError, match="another home"):
        homes.remember_hubspot(tmp_path, HubSpotEmulatorSettings(port=1234))
    # A home the quickstart set up before is its own: the emulator is recorded again.
    own = tmp_path / "own"
    homes.remember_hubspot(own, HubSpotEmulatorSettings(port=1234))
    homes.remember_hubspot(own, HubSpotEmulatorSettings(port=4321))
    assert get_settings(home=own).hubspot_base_url == "http://127.0.0.1:4321"
    assert homes.recorded_emulator(own) == HubSpotEmulatorSettings(port=4321)
