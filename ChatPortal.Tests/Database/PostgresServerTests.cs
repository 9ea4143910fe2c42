using ChatPortal.Testing;
using Npgsql;

namespace ChatPortal.Tests.Database;

/// <summary>The throwaway PostgreSQL the multi-node harnesses give their nodes: it is real, durable and separable.</summary>
public sealed class PostgresServerTests
{
    [Fact]
    public async Task ItStartsOnItsPortAndAnswersAQueryAsChatportal()
    {
        await using var postgres = await PostgresServer.StartAsync();

        Assert.True(postgres.IsRunning);
        var version = (string?)await postgres.ExecuteScalarAsync("postgres", "SELECT version()");
        Assert.StartsWith("PostgreSQL ", version);
        Assert.Equal(PostgresServer.User, await postgres.ExecuteScalarAsync("postgres", "SELECT current_user"));
        Assert.Equal(postgres.Port.ToString(), await postgres.ExecuteScalarAsync("postgres", "SHOW port"));
        Assert.Equal("on", await postgres.ExecuteScalarAsync("postgres", "SHOW fsync"));
    }

    [Fact]
    public async Task DataCommittedBeforeAKillMinusNineIsThereAfterARestart()
    {
        await using var postgres = await PostgresServer.StartAsync();
        var connectionString = await postgres.CreateDatabaseAsync("durable");
        await postgres.ExecuteAsync("durable", "CREATE TABLE messages (id int PRIMARY KEY, content text NOT NULL)");
        await postgres.ExecuteAsync("durable", "INSERT INTO messages VALUES ($1, $2)", 1, "committed before the outage");
        var postmaster = int.Parse(File.ReadLines(Path.Combine(postgres.DataDirectory, "postmaster.pid")).First());
        var backends = await postgres.QueryAsync("postgres", "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid()");
        var startedAt = await postgres.ExecuteScalarAsync("postgres", "SELECT pg_postmaster_start_time()");

        await postgres.KillAsync();

        Assert.False(postgres.IsRunning);
        Assert.All(backends.Select(r => Convert.ToInt32(r["pid"])).Append(postmaster), pid => Assert.False(Alive(pid), $"process {pid} survived the kill"));
        await using (var refused = new NpgsqlConnection(connectionString + ";Timeout=2"))
        {
            await Assert.ThrowsAnyAsync<NpgsqlException>(() => refused.OpenAsync());
        }

        await postgres.RestartAsync();

        Assert.NotEqual(startedAt, await postgres.ExecuteScalarAsync("postgres", "SELECT pg_postmaster_start_time()"));
        var rows = await postgres.QueryAsync("durable", "SELECT id, content FROM messages");
        var row = Assert.Single(rows);
        Assert.Equal("committed before the outage", row["content"]);
        await using var node = new NpgsqlConnection(connectionString);
        await node.OpenAsync();
    }

    [Fact]
    public async Task TwoDatabasesOnOneServerAreSeparate()
    {
        var postgres = await PostgresServer.SharedAsync();
        string first = PostgresServer.UniqueName("first"), second = PostgresServer.UniqueName("second");
        var firstConnection = await postgres.CreateDatabaseAsync(first);
        var secondConnection = await postgres.CreateDatabaseAsync(second);

        await postgres.ExecuteAsync(first, "CREATE TABLE conversations (id int)");
        await postgres.ExecuteAsync(first, "INSERT INTO conversations VALUES (1), (2)");

        Assert.NotEqual(firstConnection, secondConnection);
        Assert.Contains($"Database={second}", secondConnection);
        Assert.Equal(2L, await postgres.ExecuteScalarAsync(first, "SELECT count(*) FROM conversations"));
        Assert.Null(await postgres.ExecuteScalarAsync(second, "SELECT to_regclass('conversations')::text"));
    }

    [Fact]
    public async Task TheSharedServerCannotBeKilledByATestThatWantsAnOutage()
    {
        var postgres = await PostgresServer.SharedAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(postgres.KillAsync);
        await postgres.DisposeAsync();

        Assert.True(postgres.IsRunning);
        Assert.Same(postgres, await PostgresServer.SharedAsync());
    }

    /// <summary>Listed in /proc and not a zombie.</summary>
    private static bool Alive(int pid)
    {
        var stat = $"/proc/{pid}/stat";
        return File.Exists(stat) && File.ReadAllText(stat).Split(") ")[^1][0] is not ('Z' or 'X');
    }
}
