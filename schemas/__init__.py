"""pandera.ibis models: one per lake table or check view. Import the registry from here."""
from schemas.articles import ArticleFileStats, Articles, RejectedInputs
from schemas.claims import ClaimExtractions, ClaimPhrases, Claims, DateFindings, NameFindings
from schemas.figures import DateOrder, FigureDerivations, FigureDimensions, Figures
from schemas.published import CheckMemo, CheckMemoInputs, CheckResults, DatasetVersions
from schemas.sources import OfficialFigures, SourceDimensions, SourceMeasures, SourcePeople, SourceReactions, Sources

INGEST_TABLES = (Articles, RejectedInputs, Sources, SourceReactions, SourcePeople, SourceDimensions, SourceMeasures, OfficialFigures, Figures,
                 FigureDimensions, FigureDerivations)
CHECK_VIEWS = (DateOrder,)

# Every table the pipeline writes in the lake, in creation order.
LAKE_TABLES = (*INGEST_TABLES, Claims, DateFindings, NameFindings, ClaimExtractions) + (DatasetVersions, CheckResults, CheckMemo, CheckMemoInputs, ArticleFileStats)
