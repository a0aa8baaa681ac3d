import pytest

from dms.cli.main import COMMANDS

REQUIRED = ["simulate", "train", "export", "eval", "run", "bench", "cfg"]


def test_help_lists_every_subcommand(dms_cli):
    rc, out, err = dms_cli("--help")
    assert rc == 0
    for name in REQUIRED:
        assert name in out
        assert "unavailable" not in out, out


@pytest.mark.parametrize("name", REQUIRED)
def test_every_subcommand_has_help(dms_cli, name):
    rc, out, err = dms_cli(name, "--help")
    assert rc == 0, err
    assert "usage: dms " + name in out


def test_version(dms_cli):
    import dms
    rc, out, _ = dms_cli("--version")
    assert rc == 0 and dms.__version__ in out


def test_misspelt_config_key_exits_2_with_suggestion(dms_cli):
    rc, out, err = dms_cli("cfg", "check", "simulate", "sed=3")
    assert rc == 2
    assert "unknown config key 'sed'" in err and "did you mean 'seed'" in err


def test_bad_usage_exits_2(dms_cli):
    rc, _, err = dms_cli("cfg", "show")
    assert rc == 2
    rc, _, err = dms_cli("cfg", "show", "simulate", "stray")
    assert rc == 2 and "unexpected argument" in err


def test_cfg_show_prints_typed_defaults(dms_cli):
    rc, out, _ = dms_cli("cfg", "show", "simulate")
    assert rc == 0 and "seed" in out and "#" in out


def test_no_command_prints_help_and_exits_2(dms_cli):
    rc, out, _ = dms_cli()
    assert rc == 2 and "simulate" in out
    assert set(REQUIRED) <= set(COMMANDS)
