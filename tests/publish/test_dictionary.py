"""docs/data_dictionary.md is generated from the schemas and must match them."""
from factledger import catalog, dictionary


def test_committed_data_dictionary_matches_the_schemas():
    committed = dictionary.TARGET.read_text()
    assert committed == dictionary.render(), "stale: run `.venv/bin/python -m factledger.dictionary` and commit docs/data_dictionary.md"


def test_dictionary_documents_every_published_table_and_column():
    text = dictionary.render()
    for table in catalog.PUBLISHED_TABLES:
        assert f"## `{table.name}`" in text
        model = catalog.model_for(table.name)
        for column, col in (model.columns().items() if model else []):
            assert col.description, f"{table.name}.{column} has no description"
            assert f"| `{column}` |" in text
