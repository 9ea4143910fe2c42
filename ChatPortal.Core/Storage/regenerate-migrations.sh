#!/usr/bin/env bash
# Regenerates a migration for both providers after a model change: ./regenerate-migrations.sh AddSomething
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?migration name}
dotnet tool restore >/dev/null
for provider in Sqlite Postgres; do
  dotnet ef migrations add "$name" -c "${provider}ChatPortalDbContext" -o "Storage/Migrations/$provider" -n "ChatPortal.Core.Storage.Migrations.$provider"
  # The tool places the model snapshot by namespace; keep it beside its migrations.
  if [ -d ChatPortal/Core/Storage/Migrations/$provider ]; then
    mv ChatPortal/Core/Storage/Migrations/$provider/*.cs "Storage/Migrations/$provider/"
  fi
done
rm -rf ChatPortal
