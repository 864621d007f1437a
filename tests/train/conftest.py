"""Fixtures of the training tests: Weights & Biases kept offline and off the network."""

import socket

import pytest


@pytest.fixture
def offline_wandb(monkeypatch, tmp_path):
  """Weights & Biases in offline mode, silent, with its own folders under `tmp_path`; the server and any proxy point
  at a closed local port, and a connection from this process to anything but this machine fails the test (W&B's
  own service process talks to it over a local socket). Returns the addresses such connections tried."""
  pytest.importorskip("wandb")
  closed = "http://127.0.0.1:9"
  for name, value in {
    "WANDB_MODE": "offline",
    "WANDB_SILENT": "true",
    "WANDB_BASE_URL": closed,
    "WANDB_CONFIG_DIR": str(tmp_path / "wandb_config"),
    "WANDB_CACHE_DIR": str(tmp_path / "wandb_cache"),
    "WANDB_DATA_DIR": str(tmp_path / "wandb_data"),
    "HTTP_PROXY": closed,
    "HTTPS_PROXY": closed,
  }.items():
    monkeypatch.setenv(name, value)
  monkeypatch.delenv("WANDB_API_KEY", raising=False)
  monkeypatch.delenv("NO_PROXY", raising=False)
  attempts, connect = [], socket.socket.connect

  def local_only(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in ("127.0.0.1", "::1", "localhost"):
      attempts.append(address)
      raise OSError(f"no network in this test (a connection to {address})")
    return connect(sock, address)

  monkeypatch.setattr(socket.socket, "connect", local_only)
  yield attempts
  assert attempts == [], f"W&B tried to reach {attempts} in offline mode"
