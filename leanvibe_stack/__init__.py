"""leanvibe-stack: render LeanVibe's observability stack into Kubernetes manifests.

Data flows one way.  The package is a stack of stages, listed bottom up; a module imports only from
its own stage and the stages listed before it, and no import circle exists anywhere
(tests/test_architecture.py reads this list and enforces both; ARCHITECTURE.md explains each stage):

    __init__ errors manifest yamlio credentials   the words every stage shares
    sources cachedir                              the user's files a render read; where caches live
    goregex                                       Go's regexp (RE2) for every regex Go programs read
    models                                        the typed profile: one module per component
    profiles                                      find, load and merge profiles into a Stack
    render                                        Stack -> [Manifest], one renderer per component
    output                                        [Manifest] -> stream or tree, written all or nothing
    validate                                      [Manifest] -> Report: schemas, cross-checks, tools
    diff graph                                    two renders compared; one render drawn as a graph
    environments api                              the profiles beside a render; library entry points
    commands                                      one module per CLI command
    cli                                           the typer app, its global options, the error boundary
    launcher __main__ rendercache                 the console entry point; an unchanged render replayed
"""

__version__ = "0.1.0"
