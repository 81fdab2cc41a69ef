"""`manage.py doctor`: the health of the stores and their schemas, and the repairs `--fix` makes.

`checks` takes a census of stores and schemas and lists what is wrong; `repairs` makes right
what can be, stage by stage.
"""

from ops.doctor.checks import Finding, Report, is_valid_schema_name, repaired_schema_name
from ops.doctor.repairs import examine

__all__ = ["Finding", "Report", "examine", "is_valid_schema_name", "repaired_schema_name"]
