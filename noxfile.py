"""Developer sessions: ``nox -s tests``, ``nox -s lint``, ``nox -s demo``, ``nox -s bench``."""

import nox

nox.options.sessions = ["lint", "tests"]


@nox.session
def tests(session: nox.Session) -> None:
    session.install("-e", ".[dev]")
    session.run("pytest", "-m", "not slow", *session.posargs)


@nox.session
def tests_threads(session: nox.Session) -> None:
    """The fast suite at 2 torch threads: another reduction order, a stand-in for another CPU."""
    session.install("-e", ".[dev]")
    session.run("pytest", "-m", "not slow", *session.posargs, env={"OMP_NUM_THREADS": "2"})


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "ferbench", "tests", "benchmarks", "noxfile.py")


@nox.session
def demo(session: nox.Session) -> None:
    session.install("-e", ".")
    session.run("ferbench", "demo", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """The speed scripts. ``nox -s bench`` sizes the training comparison for a CPU (--quick);
    ``nox -s bench -- gpu`` runs the full one (FER2013-sized data, resnet18/resnet50/vgg19) on a GPU machine."""
    session.install("-e", ".")
    session.run("python", "benchmarks/prepare_speed.py")
    quick = [] if "gpu" in session.posargs else ["--quick"]
    session.run("python", "benchmarks/train_throughput.py", *quick)
