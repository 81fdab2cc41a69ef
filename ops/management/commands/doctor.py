"""`manage.py doctor [--fix] [--json] [--drop-orphans]`: find, and repair, broken stores."""

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ops.doctor import Finding, Report, examine


class Command(BaseCommand):
    help = (
        "Check every store and its schema: missing, orphan or badly named schemas, migrations "
        "behind, no owner, no register. --fix repairs what it safely can; orphan schemas are "
        "dropped only with --fix --drop-orphans. Exit status 1 while anything is wrong."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--fix", action="store_true", help="Repair what can be repaired.")
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON document, for monitoring."
        )
        parser.add_argument(
            "--drop-orphans",
            action="store_true",
            help="With --fix, drop schemas that belong to no store (DROP SCHEMA … CASCADE).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = examine(fix=options["fix"], drop_orphans=options["drop_orphans"])
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
        else:
            self._write_text(report)
        if not report.ok:
            # A status monitoring and deploy scripts can act on, whatever the output format.
            sys.exit(1)

    def _write_text(self, report: Report) -> None:
        for finding in report.findings:
            self.stdout.write(self._line(finding))
        fixed = sum(finding.fixed for finding in report.findings)
        remaining = len(report.findings) - fixed
        if remaining:
            fixable = sum(finding.fixable and not finding.fixed for finding in report.findings)
            summary = f"{remaining} problem(s) remaining, {fixable} of them fixable with --fix"
            if fixed:
                summary += f"; {fixed} fixed"
            self.stdout.write(self.style.ERROR(summary + "."))
        elif fixed:
            self.stdout.write(
                self.style.SUCCESS(
                    f"{fixed} problem(s) fixed; {report.store_count} store(s) checked, all OK."
                )
            )
        else:
            self.stdout.write(self.style.SUCCESS(f"{report.store_count} store(s) checked, all OK."))

    def _line(self, finding: Finding) -> str:
        if finding.fixed:
            state = self.style.SUCCESS("fixed")
        elif finding.fixable:
            state = self.style.WARNING("fixable")
        else:
            state = self.style.ERROR("needs a person")
        store = finding.store if finding.store is not None else "-"
        return (
            f"[{state}] {finding.code}: store {store}, schema {finding.schema}: {finding.message}"
        )
