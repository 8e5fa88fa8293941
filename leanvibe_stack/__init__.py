"""leanvibe-stack: render LeanVibe's observability stack into Kubernetes manifests."""

__version__ = "0.1.0"
