using System.Globalization;

namespace ChatPortal.Chaos;

/// <summary>A stored message, as PostgreSQL holds it.</summary>
public sealed record StoredMessage(string Id, string ConversationId, string? ParentId, long Seq, string Role, string Content, string Status, string? Error, string? Node);

/// <summary>Checks the invariants from what users saw (transcripts) and what the database holds.</summary>
public sealed class Checker(ChaosCluster cluster, Transcripts transcripts, Violations violations)
{
    /// <summary>Lease timeout (10 s) + janitor interval (3 s) + slack.</summary>
    public static readonly TimeSpan ReleaseDeadline = TimeSpan.FromSeconds(25);

    /// <summary>A live owner's claim on a sub-second answer: anything near this is stuck.</summary>
    public static readonly TimeSpan LiveClaimDeadline = TimeSpan.FromSeconds(120);

    public const string DeadOwnerReason = "The node generating this answer stopped before it finished.";

    public double MaxClaimAgeDeadOwner { get; private set; }

    public double MaxClaimAgeLiveOwner { get; private set; }

    public int Samples { get; private set; }

    public IReadOnlyList<StoredMessage> Messages { get; private set; } = [];

    /// <summary>
    /// Invariant 5, sampled: a claim whose owner instance is dead (kill -9) or frozen (SIGSTOP) must be gone within
    /// the lease timeout + janitor interval + slack, counted from the death or the freeze; a database outage in
    /// between adds its length and one more lease (no janitor judges while it cannot see the database).
    /// </summary>
    public async Task SampleClaimsAsync()
    {
        IReadOnlyList<IReadOnlyDictionary<string, object?>> rows;
        try
        {
            rows = await cluster.Postgres.QueryAsync(ChaosCluster.Database,
                "SELECT id, active_task_id, active_instance_id, active_node, EXTRACT(EPOCH FROM (now() AT TIME ZONE 'UTC' - active_since))::float8 AS age FROM conversations WHERE active_task_id IS NOT NULL");
        }
        catch (Exception)
        {
            return; // the database is down: nothing to sample
        }

        Samples++;
        var now = DateTime.UtcNow;
        var frozen = cluster.Frozen;
        foreach (var row in rows)
        {
            var task = (string)row["active_task_id"]!;
            var instance = row["active_instance_id"] as string;
            var node = row["active_node"] as string;
            var age = row["age"] is double a ? a : 0;
            DateTime? since = null;
            string what;
            if (instance is not null && cluster.DeadInstances.TryGetValue(instance, out var died))
            {
                since = died;
                what = $"dead instance {instance} of {node}";
            }
            else if (frozen is { } f && f.NodeId == node)
            {
                since = f.Since;
                what = $"frozen node {node}";
            }
            else
            {
                what = $"live node {node}";
            }

            if (since is { } start)
            {
                var held = now - start;
                MaxClaimAgeDeadOwner = Math.Max(MaxClaimAgeDeadOwner, held.TotalSeconds);
                if (held > ReleaseDeadline + OutageAllowance(start, now))
                {
                    violations.Add(5, task, $"claim still held {held.TotalSeconds:0.0} s after its owner ({what}) stopped at {start:HH:mm:ss.fff} UTC (sample {now:HH:mm:ss.fff})");
                }
            }
            else
            {
                MaxClaimAgeLiveOwner = Math.Max(MaxClaimAgeLiveOwner, age);
                if (TimeSpan.FromSeconds(age) > LiveClaimDeadline + OutageAllowance(now.AddSeconds(-age), now))
                {
                    violations.Add(5, task, $"claim held {age:0.0} s by {what}");
                }
            }
        }
    }

    private TimeSpan OutageAllowance(DateTime from, DateTime to)
    {
        var allowance = TimeSpan.Zero;
        foreach (var (start, end) in cluster.OutagesSnapshot())
        {
            var stop = end ?? to;
            if (stop >= from.AddSeconds(-15) && start <= to)
            {
                allowance += stop - start + TimeSpan.FromSeconds(15);
            }
        }

        return allowance;
    }

    /// <summary>The end check: every invariant from the transcripts and the database, after quiescence.</summary>
    public async Task CheckAsync()
    {
        var messageRows = await cluster.Postgres.QueryAsync(ChaosCluster.Database,
            "SELECT id, conversation_id, parent_id, seq, role, content, status, error, node FROM messages ORDER BY conversation_id, seq");
        Messages = [.. messageRows.Select(r => new StoredMessage((string)r["id"]!, (string)r["conversation_id"]!, r["parent_id"] as string,
            Convert.ToInt64(r["seq"], CultureInfo.InvariantCulture), ((string)r["role"]!).ToLowerInvariant(), (string)r["content"]!,
            ((string)r["status"]!).ToLowerInvariant(), r["error"] as string, r["node"] as string))];
        var claims = await cluster.Postgres.QueryAsync(ChaosCluster.Database,
            "SELECT id, active_task_id, active_instance_id, active_node FROM conversations WHERE active_task_id IS NOT NULL OR active_instance_id IS NOT NULL");

        var byId = Messages.ToDictionary(m => m.Id, StringComparer.Ordinal);
        var streams = transcripts.Streams.ToList();

        // 1. One generation per conversation: one answer per question, history alternates, no claim left.
        foreach (var group in Messages.Where(m => m.Role == "assistant" && m.ParentId is not null).GroupBy(m => m.ParentId!))
        {
            if (group.Count() > 1)
            {
                violations.Add(1, string.Join(",", group.Select(m => m.Id)), $"question {group.Key} has {group.Count()} answers ({string.Join(", ", group.Select(m => m.Status))})");
            }
        }

        foreach (var conversation in Messages.GroupBy(m => m.ConversationId))
        {
            StoredMessage? previous = null;
            foreach (var message in conversation)
            {
                if (message.Role == "assistant")
                {
                    if (previous is null || previous.Role != "user" || message.ParentId != previous.Id)
                    {
                        violations.Add(1, message.Id, $"conversation {conversation.Key}: answer at seq {message.Seq} does not follow its own question (previous: {previous?.Role} {previous?.Id}, parent {message.ParentId}): two generations overlapped");
                    }
                }
                else if (previous is { Role: "user" })
                {
                    violations.Add(1, previous.Id, $"conversation {conversation.Key}: question {previous.Id} has no answer before the next question {message.Id}");
                }

                previous = message;
            }

            if (previous is { Role: "user" })
            {
                violations.Add(2, previous.Id, $"conversation {conversation.Key}: the last question {previous.Id} has no final answer record");
            }
        }

        foreach (var claim in claims)
        {
            violations.Add(1, (claim["active_task_id"] as string) ?? "-", $"conversation {claim["id"]} still claimed at the end by {claim["active_node"]} ({claim["active_instance_id"]})");
            violations.Add(5, (claim["active_task_id"] as string) ?? "-", $"conversation {claim["id"]} still generating at the end");
        }

        // 2 and 4. Every task a user saw has exactly one final record; stored text = every finished stream's text.
        foreach (var task in streams.Where(s => s.TaskId is not null).GroupBy(s => s.TaskId!))
        {
            var send = task.FirstOrDefault(s => s.Kind == StreamKind.Send);
            if (!byId.TryGetValue(task.Key, out var stored))
            {
                var finished = task.Where(s => s.DoneStatus is "completed" or "cancelled").ToList();
                violations.Add(finished.Count > 0 ? 4 : 2, task.Key, finished.Count > 0
                    ? $"streams showed done {finished[0].DoneStatus} (via {finished[0].Via}) but no record is stored"
                    : "a task event was received but no final record is stored");
                continue;
            }

            if (stored.Role != "assistant" || stored.Status is not ("completed" or "cancelled" or "failed"))
            {
                violations.Add(2, task.Key, $"record is {stored.Role} {stored.Status}, not a final answer");
                continue;
            }

            if (send is not null)
            {
                if (stored.ConversationId != send.ConversationId)
                {
                    violations.Add(2, task.Key, $"stored in conversation {stored.ConversationId}, sent in {send.ConversationId}");
                }
                else if (send.Question is not null && (stored.ParentId is null || !byId.TryGetValue(stored.ParentId, out var parent) || parent.Content != send.Question))
                {
                    violations.Add(2, task.Key, "the answer's parent is not the question that started it");
                }
            }

            foreach (var stream in task)
            {
                if (stream.DoneStatus is { } status)
                {
                    if (status != stored.Status)
                    {
                        var invariant = status is "completed" or "cancelled" ? 4 : 2;
                        violations.Add(invariant, task.Key, $"{stream.Kind} stream via {stream.Via} showed done {status}, stored {stored.Status} ({stored.Error}) by {stored.Node}");
                    }
                    else if (stored.Status is "completed" or "cancelled" && stream.Text.ToString() != stored.Content)
                    {
                        violations.Add(2, task.Key, $"{stream.Kind} stream via {stream.Via} showed {stream.Text.Length} chars, stored {stored.Status} has {stored.Content.Length}");
                    }
                }
                else if (stream.Broken && stored.Status is "completed" or "cancelled" && !stored.Content.StartsWith(stream.Text.ToString(), StringComparison.Ordinal))
                {
                    violations.Add(2, task.Key, $"broken {stream.Kind} stream via {stream.Via} showed text that is not a prefix of the stored {stored.Status} answer");
                }
            }
        }

        // 4. Every question whose send produced a task event is stored.
        var questions = Messages.Where(m => m.Role == "user").Select(m => (m.ConversationId, m.Content)).ToHashSet();
        foreach (var send in streams.Where(s => s.Kind == StreamKind.Send && s.TaskId is not null && s.Question is not null))
        {
            if (!questions.Contains((send.ConversationId, send.Question!)))
            {
                violations.Add(4, send.TaskId!, $"question sent via {send.Via} (task event received) is not stored");
            }
        }

        // 4. A reload after the answer finished shows it as stored (unless a database outage left its commit queued).
        var outages = cluster.OutagesSnapshot();
        var shownFinished = streams.Where(s => s.Kind == StreamKind.Send && s.DoneStatus is "completed" or "cancelled").Select(s => s.TaskId!).ToHashSet(StringComparer.Ordinal);
        foreach (var reload in transcripts.Reloads)
        {
            // Only answers shown as finished (completed, cancelled): a generation that ended failed because it lost
            // its claim cannot write; its record comes from the janitor a moment later.
            if (!shownFinished.Contains(reload.TaskId) ||
                outages.Any(o => (o.End ?? DateTime.MaxValue) >= reload.StreamStart.AddSeconds(-30) && o.Start <= reload.At) ||
                !byId.TryGetValue(reload.TaskId, out var stored))
            {
                continue;
            }

            if (!reload.Found || reload.Status != stored.Status || reload.Content != stored.Content)
            {
                violations.Add(4, reload.TaskId, reload.Found
                    ? $"reload via {reload.Via} after done showed {reload.Status} ({reload.Content?.Length} chars), stored {stored.Status} ({stored.Content.Length} chars)"
                    : $"reload via {reload.Via} after done did not show the answer");
            }
        }

        // 3. A Stop answered 200 names the final state; "cancelled" means the stored record is cancelled.
        foreach (var cancel in transcripts.Cancels.Where(c => c.StatusCode == 200))
        {
            if (!byId.TryGetValue(cancel.TaskId, out var stored))
            {
                violations.Add(3, cancel.TaskId, $"Stop via {cancel.Via} answered 200 {cancel.BodyStatus} but no record is stored");
            }
            else if (cancel.BodyStatus != stored.Status)
            {
                violations.Add(3, cancel.TaskId, $"Stop via {cancel.Via} answered 200 {cancel.BodyStatus}, stored {stored.Status} ({stored.Error})");
            }
        }

        // 6. A task the janitor released (owner dead or frozen) keeps the janitor's failed record: the owner, when it
        // wakes up, can no longer write.
        cluster.ScanLogs();
        foreach (var (task, janitor) in cluster.JanitorReleased)
        {
            if (!byId.TryGetValue(task, out var stored))
            {
                violations.Add(6, task, $"released by {janitor}'s janitor but no record is stored");
            }
            else if (stored.Status != "failed" || stored.Error != DeadOwnerReason)
            {
                violations.Add(6, task, $"released by {janitor}'s janitor, yet stored {stored.Status} by {stored.Node}: the old owner wrote after losing its claim");
            }
        }
    }
}
