"""The root command group: the tool's own commands, as Typer registered them, and one command per catalog
job, built from the job's spec when it is asked for (cli/job_commands.py), like pip's command registry.

`housejobs --help` lists the jobs from the catalog alone (jobs/registry.py: name, description), so it
imports no job module; a catalog that cannot be read leaves them out of the listing, and a job command
then refuses with the catalog's one-line error. The listing keeps the order `--help` has always had:
the jobs, the tool's commands, then the groups (a job with commands of its own among them).

Only click and typer load here at start-up; the registry and the job's module load when they are needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from click.exceptions import NoSuchCommand
from typer.core import TyperGroup

if TYPE_CHECKING:
    from housejobs.jobs.registry import Listed


class JobGroup(TyperGroup):
    def _catalog(self) -> dict[str, Listed]:
        """The catalog's jobs (raises the catalog's error when it cannot be read)."""
        from housejobs.cli.app import runtime
        from housejobs.jobs.registry import listing
        from housejobs.settings import find_jobs_dir

        return listing(find_jobs_dir(runtime().environ)[0])

    def _jobs(self) -> dict[str, Listed]:
        """The catalog's jobs the tool's own commands do not shadow; none when the catalog cannot be read."""
        from housejobs.errors import HousejobsError

        try:
            return {name: job for name, job in self._catalog().items() if name not in self.commands}
        except HousejobsError:
            return {}

    def _names(self, jobs: dict[str, Listed]) -> list[str]:
        from housejobs.jobs.registry import help_order

        first, groups = help_order(jobs)
        own = list(self.commands)
        return [*first, *(n for n in own if not isinstance(self.commands[n], click.Group)), *groups,
                *(n for n in own if isinstance(self.commands[n], click.Group))]

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._names(self._jobs())

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            return found
        listed = self._catalog().get(cmd_name)
        if listed is None:
            return None
        from housejobs.cli.job_commands import job_command
        from housejobs.jobs.registry import load

        return job_command(load(listed), listed.description)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None,
                                                                             list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except NoSuchCommand as exc:  # click suggests from the commands it holds: the jobs are names too
            raise NoSuchCommand(exc.command_name, possibilities=self.list_commands(ctx), ctx=ctx) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's listing, with each job's line from its catalog description (no job module imported)."""
        jobs = self._jobs()
        rows: list[tuple[str, Any]] = []
        for name in self._names(jobs):
            command = self.commands.get(name) or click.Command(name, help=jobs[name].description)
            if not command.hidden:
                rows.append((name, command))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in rows])
