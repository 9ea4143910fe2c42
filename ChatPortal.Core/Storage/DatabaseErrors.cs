using System.Data.Common;
using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace ChatPortal.Core.Storage;

/// <summary>Tells "the database is not reachable right now" (retry later) apart from bugs and constraint violations.</summary>
public static class DatabaseErrors
{
    public static bool IsUnavailable(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PostgresException postgres:
                    // 08: connection exception; 53: insufficient resources; 57: operator intervention (shutdown,
                    // cannot connect now); 40001/40P01: serialization failure or deadlock (retry).
                    return postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
                        || postgres.SqlState.StartsWith("53", StringComparison.Ordinal)
                        || postgres.SqlState.StartsWith("57", StringComparison.Ordinal)
                        || postgres.SqlState is "40001" or "40P01";
                case NpgsqlException:
                    return true; // not a server-reported error: the connection failed or broke
                case SqliteException sqlite:
                    // BUSY, LOCKED, IOERR, FULL, CANTOPEN
                    return sqlite.SqliteErrorCode is 5 or 6 or 10 or 13 or 14;
                case SocketException or TimeoutException or IOException:
                    return true;
                case DbException { IsTransient: true }:
                    return true;
            }
        }

        return false;
    }
}
