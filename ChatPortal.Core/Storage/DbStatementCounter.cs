using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace ChatPortal.Core.Storage;

/// <summary>Counts the statements and transactions this node sends to the database (dashboard, /metrics, benchmark).</summary>
public sealed class DbStatementCounter : DbCommandInterceptor, IDbTransactionInterceptor
{
    private long _statements;
    private long _transactions;
    private long _titleWrites;

    public long Statements => Interlocked.Read(ref _statements);

    /// <summary>Explicit transactions committed, plus statements that ran in a transaction of their own.</summary>
    public long Transactions => Interlocked.Read(ref _transactions);

    /// <summary>
    /// Model-written titles stored (one statement in a transaction of its own, also counted in <see cref="Statements"/>
    /// and <see cref="Transactions"/>): once per conversation, after its first answer, so not part of an answer's path.
    /// </summary>
    public long TitleWrites => Interlocked.Read(ref _titleWrites);

    public void CountTitleWrite() => Interlocked.Increment(ref _titleWrites);

    /// <summary>Counts what ran outside EF Core's commands (a raw batch): its statements, in one explicit transaction.</summary>
    public void CountBatch(int statements)
    {
        Interlocked.Add(ref _statements, statements);
        Interlocked.Increment(ref _transactions);
    }

    public override DbCommand CommandInitialized(CommandEndEventData eventData, DbCommand result)
    {
        Interlocked.Increment(ref _statements);
        if (eventData.Context?.Database.CurrentTransaction is null)
        {
            Interlocked.Increment(ref _transactions);
        }

        return result;
    }

    public Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _transactions);
        return Task.CompletedTask;
    }

    public void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) => Interlocked.Increment(ref _transactions);

    public InterceptionResult<DbTransaction> TransactionStarting(DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result) => result;

    public DbTransaction TransactionStarted(DbConnection connection, TransactionEndEventData eventData, DbTransaction result) => result;

    public ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result, CancellationToken cancellationToken = default) => ValueTask.FromResult(result);

    public ValueTask<DbTransaction> TransactionStartedAsync(DbConnection connection, TransactionEndEventData eventData, DbTransaction result, CancellationToken cancellationToken = default) => ValueTask.FromResult(result);
}
