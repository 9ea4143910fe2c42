# ChatPortal node image: build with the SDK, run on the ASP.NET runtime as a non-root user.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY ChatPortal/ChatPortal.csproj ChatPortal/
COPY ChatPortal.Core/ChatPortal.Core.csproj ChatPortal.Core/
RUN dotnet restore ChatPortal/ChatPortal.csproj
COPY ChatPortal/ ChatPortal/
COPY ChatPortal.Core/ ChatPortal.Core/
RUN dotnet publish ChatPortal/ChatPortal.csproj -c Release -o /app --no-restore

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /app ./
ENV ASPNETCORE_HTTP_PORTS=8080 \
    DOTNET_RUNNING_IN_CONTAINER=true
EXPOSE 8080
# The image's built-in unprivileged user.
USER $APP_UID
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS http://localhost:8080/healthz || exit 1
ENTRYPOINT ["dotnet", "ChatPortal.dll"]
