"""Exporting trajectories as a demanding user does: nothing to export (every episode filtered out)."""

import pyarrow.parquet as pq
import pytest

from agentgym.export import hf_features, to_hf_dataset, to_parquet


@pytest.mark.parametrize("shape", ["episodes", "turns"])
def test_no_trajectories_export_as_an_empty_table_with_the_fixed_columns(shape, tmp_path):
    dataset = to_hf_dataset([], shape=shape)
    assert dataset.num_rows == 0 and dataset.features == hf_features(shape)
    assert to_parquet(iter([]), tmp_path / "empty.parquet", shape=shape) == 0
    table = pq.read_table(tmp_path / "empty.parquet")
    assert table.num_rows == 0 and table.column_names == list(hf_features(shape))
