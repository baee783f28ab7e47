"""A configuration saved with a UTF-8 byte-order mark (as some Windows editors save it) loads:
it was 'Invalid statement (line 1, column 1)'."""

from agentgym.train.config import load_config


def test_a_configuration_with_a_byte_order_mark_loads(tmp_path):
    path = tmp_path / "run.toml"
    path.write_bytes(b"\xef\xbb\xbf" + b'[env]\nid = "games/GuessTheNumber-v0"\n[run]\nsteps = 3\n')
    config = load_config(path)
    assert config.env.id == "games/GuessTheNumber-v0" and config.run.steps == 3
