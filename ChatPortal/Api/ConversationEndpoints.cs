using System.Text.Json;
using ChatPortal.Core.Configuration;
using ChatPortal.Core.Conversations;
using ChatPortal.Core.Generation;
using ChatPortal.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace ChatPortal.Api;

/// <summary><c>/api/conversations</c>: the caller's conversations, their history, and sending a message.</summary>
public static class ConversationEndpoints
{
    public static IEndpointRouteBuilder MapConversationEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/conversations").WithTags("Conversations");
        group.MapPost("/", CreateAsync);
        group.MapGet("/", ListAsync);
        group.MapGet("/{id}", GetAsync);
        group.MapDelete("/{id}/messages", ClearAsync);
        group.MapPatch("/{id}", UpdateAsync);
        group.MapDelete("/{id}", DeleteAsync);
        group.MapPost("/{id}/restore", RestoreAsync);
        group.MapGet("/{id}/export", ExportAsync);
        group.MapPost("/{id}/messages", SendAsync).RequireRateLimiting(WebApplicationBuilderExtensions.MessagesRateLimit);
        group.MapPost("/{id}/messages/{messageId}/edit", EditAsync).RequireRateLimiting(WebApplicationBuilderExtensions.MessagesRateLimit);
        group.MapPost("/{id}/messages/{messageId}/regenerate", RegenerateAsync).RequireRateLimiting(WebApplicationBuilderExtensions.MessagesRateLimit);
        group.MapPut("/{id}/branch", SelectBranchAsync);
        return app;
    }

    private static async Task<Created<CreatedConversation>> CreateAsync(HttpContext context, IConversationStore store)
    {
        var conversation = await store.CreateAsync(ApiUser.Id(context), context.RequestAborted);
        return TypedResults.Created($"/api/conversations/{conversation.Id}", new CreatedConversation(conversation.Id));
    }

    /// <summary>The longest page a client may ask for with <c>limit</c>.</summary>
    internal const int MaxPageSize = 100;

    /// <summary>
    /// Every conversation of the caller; or, with <c>limit</c> and/or <c>cursor</c>, one page of them, and a
    /// <c>Link: &lt;…&gt;; rel="next"</c> header while more follow.
    /// </summary>
    private static async Task<IResult> ListAsync(HttpContext context, IConversationStore store)
    {
        var userId = ApiUser.Id(context);
        var query = context.Request.Query;
        if (query.ContainsKey("q"))
        {
            return await SearchAsync(context, store, userId);
        }

        if (!query.ContainsKey("limit") && !query.ContainsKey("cursor"))
        {
            var list = await store.ListAsync(userId, context.RequestAborted);
            return TypedResults.Ok(list.Select(ToItem).ToArray());
        }

        if (!TryReadLimit(query, out var limit))
        {
            return QueryProblem($"limit must be a whole number from 1 to {MaxPageSize}.");
        }

        ConversationCursor? after = null;
        if (query.TryGetValue("cursor", out var cursorText) && (cursorText.Count != 1 || !ConversationCursor.TryParse(cursorText[0], out after)))
        {
            return QueryProblem("cursor is not one this API handed out: use the link of the previous page's Link header.");
        }

        var page = await store.ListPageAsync(userId, limit, after, context.RequestAborted);
        if (page.Next is { } next)
        {
            context.Response.Headers.Link = $"</api/conversations?limit={limit}&cursor={next}>; rel=\"next\"";
        }

        return TypedResults.Ok(page.Items.Select(ToItem).ToArray());
    }

    private static ConversationListItem ToItem(ConversationSummary c) => new(c.Id, c.Title, c.UpdatedAt);

    /// <summary><c>?q=words[&amp;limit=N]</c>: full-text search of the caller's conversations, title matches first.</summary>
    private static async Task<IResult> SearchAsync(HttpContext context, IConversationStore store, string userId)
    {
        var query = context.Request.Query;
        var text = query["q"];
        if (text.Count != 1)
        {
            return QueryProblem("q must be given once.");
        }

        if (!SearchQuery.TryParse(text[0], out var search, out var problem))
        {
            return QueryProblem($"q: {problem}");
        }

        if (query.ContainsKey("cursor"))
        {
            return QueryProblem("cursor does not apply to a search: ask for a larger limit instead.");
        }

        if (!TryReadLimit(query, out var limit))
        {
            return QueryProblem($"limit must be a whole number from 1 to {MaxPageSize}.");
        }

        var hits = await store.SearchAsync(userId, search!, limit, context.RequestAborted);
        return TypedResults.Ok(hits.Select(h => new ConversationSearchItem(h.Id, h.Title, h.UpdatedAt, h.TitleMatches,
            h.Snippet is null ? null : SearchSnippet.Plain(h.Snippet))).ToArray());
    }

    /// <summary><c>limit</c>: absent (50), or once, a whole number from 1 to <see cref="MaxPageSize"/>.</summary>
    private static bool TryReadLimit(IQueryCollection query, out int limit)
    {
        limit = 50;
        return !query.TryGetValue("limit", out var text)
            || (text.Count == 1 && int.TryParse(text[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out limit) && limit is >= 1 and <= MaxPageSize);
    }

    private static IResult QueryProblem(string detail) =>
        TypedResults.Problem(detail: detail, statusCode: StatusCodes.Status400BadRequest, title: "Invalid query");

    private static async Task<IResult> GetAsync(string id, HttpContext context, IConversationStore store, GenerationEngine engine)
    {
        var conversation = await store.GetAsync(ApiUser.Id(context), id, context.RequestAborted);
        if (conversation is null)
        {
            return ApiUser.NotFound("The conversation");
        }

        var tree = conversation.Tree;
        var messages = conversation.Messages.Select(m => m.ToDto(tree)).ToList();
        var running = await engine.FindRunningInConversationAsync(id, context.RequestAborted);
        if (running is not null && messages.All(m => m.Id != running.TaskId))
        {
            // The answer being written shows as a streaming message with the text this node can see, after the question it
            // answers (the end of the branch on screen), beside that question's other answers.
            var text = engine.LocalTasks.Find(running.TaskId)?.Text ?? "";
            var question = conversation.Messages.Count > 0 ? conversation.Messages[^1].Id : null;
            messages.Add(new MessageDto(running.TaskId, "assistant", text, "streaming", ParentId: question,
                SiblingIds: [.. tree.ChildrenOf(question).Select(m => m.Id), running.TaskId]));
        }

        return TypedResults.Ok(new ConversationDto(
            conversation.Id,
            conversation.Title,
            messages,
            running is null ? null : new ActiveTaskDto(running.TaskId, running.Node),
            engine.Models.Resolve(conversation.ModelId).Id,
            conversation.Instructions));
    }

    private static async Task<IResult> ClearAsync(string id, HttpContext context, IConversationStore store) =>
        await store.ClearAsync(ApiUser.Id(context), id, context.RequestAborted) switch
        {
            HistoryChange.Done => TypedResults.NoContent(),
            HistoryChange.AnswerRunning => RefusedWhileRunning(HistoryEdit.Clear),
            _ => ApiUser.NotFound("The conversation"),
        };

    /// <summary>Renames a conversation, chooses its model, sets its instructions: any of the three, validated before any is applied.</summary>
    private static async Task<IResult> UpdateAsync(string id, HttpContext context, IConversationStore store, GenerationEngine engine, IOptions<ChatPortalOptions> options)
    {
        var (change, problem) = await ReadChangeAsync(context.Request, engine.Models, options.Value.Limits.MaxInstructionsChars, context.RequestAborted);
        if (problem is not null)
        {
            return problem;
        }

        var userId = ApiUser.Id(context);
        var found = true;
        if (change.Title is { } title)
        {
            found = await store.RenameAsync(userId, id, title, context.RequestAborted) is not null;
        }

        if (found && change.SetsModel)
        {
            found = await store.SetModelAsync(userId, id, change.Model, context.RequestAborted);
        }

        if (found && change.SetsInstructions)
        {
            found = await store.SetInstructionsAsync(userId, id, change.Instructions, context.RequestAborted);
        }

        var conversation = found ? await store.GetAsync(userId, id, context.RequestAborted) : null;
        return conversation is null
            ? ApiUser.NotFound("The conversation")
            : TypedResults.Ok(new ConversationSettings(conversation.Id, conversation.Title, conversation.UpdatedAt,
                engine.Models.Resolve(conversation.ModelId).Id, conversation.Instructions));
    }

    /// <summary>Deletes a conversation (restorable for a while, then purged); a running answer in it is stopped first.</summary>
    private static async Task<IResult> DeleteAsync(string id, HttpContext context, GenerationEngine engine) =>
        await engine.DeleteConversationAsync(ApiUser.Id(context), id, context.RequestAborted) switch
        {
            HistoryChange.Done => TypedResults.NoContent(),
            HistoryChange.AnswerRunning => RefusedWhileRunning(HistoryEdit.Delete),
            _ => ApiUser.NotFound("The conversation"),
        };

    /// <summary><c>?format=markdown|json</c> (Markdown when absent): the conversation as a file to download.</summary>
    private static async Task<IResult> ExportAsync(string id, HttpContext context, IConversationStore store, TimeProvider time)
    {
        var formats = context.Request.Query["format"];
        var format = formats.Count == 0 ? ConversationExport.Markdown : formats.Count == 1 ? formats[0]!.ToLowerInvariant() : "";
        if (!ConversationExport.Formats.Contains(format))
        {
            return QueryProblem($"format must be one of: {string.Join(", ", ConversationExport.Formats)}.");
        }

        var conversation = await store.GetAsync(ApiUser.Id(context), id, context.RequestAborted);
        if (conversation is null)
        {
            return ApiUser.NotFound("The conversation");
        }

        return TypedResults.File(
            ConversationExport.ToBytes(conversation, format, time.GetUtcNow()),
            ConversationExport.ContentType(format),
            ConversationExport.FileName(conversation.Title, format));
    }

    /// <summary>Undoes a delete within the restore window (<see cref="ConversationDeletion.RestoreWindow"/>).</summary>
    private static async Task<IResult> RestoreAsync(string id, HttpContext context, IConversationStore store) =>
        await store.RestoreAsync(ApiUser.Id(context), id, context.RequestAborted) is { } restored
            ? TypedResults.Ok(ToItem(restored))
            : TypedResults.Problem(
                detail: $"There is no deleted conversation of yours to restore with this id (a delete can be undone for {ConversationDeletion.RestoreWindow.TotalSeconds:0} seconds).",
                statusCode: StatusCodes.Status404NotFound,
                title: "Not found");

    private static async Task<IResult> SendAsync(string id, HttpContext context, GenerationEngine engine, IOptions<ChatPortalOptions> options, TimeProvider time)
    {
        var (text, model, problem) = await ReadMessageAsync(context.Request, options.Value.Limits.MaxMessageChars, context.RequestAborted);
        return problem ?? Streamed(context, await engine.StartAsync(ApiUser.Id(context), id, text, model, context.RequestAborted), engine, options.Value, time, model);
    }

    /// <summary>A new version of question <c>messageId</c> (a branch beside it) and its answer, streamed as a send is.</summary>
    private static async Task<IResult> EditAsync(string id, string messageId, HttpContext context, GenerationEngine engine, IOptions<ChatPortalOptions> options, TimeProvider time)
    {
        var (text, model, problem) = await ReadMessageAsync(context.Request, options.Value.Limits.MaxMessageChars, context.RequestAborted);
        return problem ?? Streamed(context, await engine.EditAsync(ApiUser.Id(context), id, messageId, text, model, context.RequestAborted), engine, options.Value, time, model,
            "There is no question with this id in the conversation.");
    }

    /// <summary>Answer <c>messageId</c> written again: a new answer beside it, streamed as a send is; the old one stays.</summary>
    private static async Task<IResult> RegenerateAsync(string id, string messageId, HttpContext context, GenerationEngine engine, IOptions<ChatPortalOptions> options, TimeProvider time) =>
        Streamed(context, await engine.RegenerateAsync(ApiUser.Id(context), id, messageId, modelId: null, context.RequestAborted), engine, options.Value, time, null,
            "There is no answer with this id in the conversation.");

    /// <summary><c>{"messageId"}</c>: shows the branch through that message (down its newest messages); answers as <c>GET</c>.</summary>
    private static async Task<IResult> SelectBranchAsync(string id, HttpContext context, IConversationStore store, GenerationEngine engine)
    {
        SelectBranchRequest? request;
        try
        {
            using var limited = new LimitedStream(context.Request.Body, 16 * 1024);
            request = await System.Text.Json.JsonSerializer.DeserializeAsync<SelectBranchRequest>(limited, JsonSerializerOptions.Web, context.RequestAborted);
        }
        catch (Exception ex) when (ex is JsonException or LimitedStream.TooLargeException)
        {
            request = null;
        }

        if (request?.MessageId is not { Length: > 0 } messageId)
        {
            return TypedResults.Problem(detail: "The body must be JSON like {\"messageId\": \"…\"}.", statusCode: StatusCodes.Status400BadRequest, title: "Invalid branch");
        }

        return await store.SelectBranchAsync(ApiUser.Id(context), id, messageId, context.RequestAborted) switch
        {
            HistoryChange.Done => await GetAsync(id, context, store, engine),
            HistoryChange.AnswerRunning => RefusedWhileRunning(HistoryEdit.SwitchBranch),
            _ => ApiUser.NotFound("The conversation or the message"),
        };
    }

    /// <summary>The 409 for a change to the history that a running answer forbids, in <see cref="RunningAnswerRule"/>'s words.</summary>
    private static IResult RefusedWhileRunning(HistoryEdit edit) => TypedResults.Problem(
        detail: RunningAnswerRule.Refusal(edit),
        statusCode: StatusCodes.Status409Conflict,
        title: "Generation running");

    /// <summary>The answer of a start: its event stream, or the problem that kept it from starting.</summary>
    private static IResult Streamed(HttpContext context, StartResult result, GenerationEngine engine, ChatPortalOptions options, TimeProvider time, string? model, string? unknownMessage = null) => result.Outcome switch
    {
        StartOutcome.Started => new TaskStreamResult(result.Task!.Info, engine, announce: true),
        StartOutcome.QuotaExceeded => QuotaProblem(context, result.Quota!, time.GetUtcNow()),
        StartOutcome.UnknownModel => UnknownModel(model!),
        StartOutcome.TooManyAnswers => TypedResults.Problem(
            detail: $"You already have {options.Limits.ConcurrentAnswersPerUser} answers being generated; wait for one to finish or stop it.",
            statusCode: StatusCodes.Status429TooManyRequests,
            title: "Too many answers at once"),
        StartOutcome.AlreadyRunning => TypedResults.Problem(
            detail: $"An answer is already being generated in this conversation (task {result.RunningTask?.TaskId} on {result.RunningTask?.Node}).",
            statusCode: StatusCodes.Status409Conflict,
            title: "Generation running"),
        StartOutcome.MessageNotFound => TypedResults.Problem(detail: unknownMessage, statusCode: StatusCodes.Status404NotFound, title: "Not found"),
        StartOutcome.NothingToRegenerate => TypedResults.Problem(
            detail: "There is no question to answer again.", statusCode: StatusCodes.Status409Conflict, title: "Nothing to regenerate"),
        _ => ApiUser.NotFound("The conversation"),
    };

    /// <summary>429 with <c>Retry-After</c> until the quota resets (midnight UTC), and the sentence the chat shows too.</summary>
    private static IResult QuotaProblem(HttpContext context, Core.Limits.DailyTokenQuota quota, DateTimeOffset now)
    {
        context.Response.Headers.RetryAfter = quota.RetryAfterSeconds(now).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return TypedResults.Problem(
            detail: quota.Describe(now),
            statusCode: StatusCodes.Status429TooManyRequests,
            title: "Daily token quota reached",
            extensions: new Dictionary<string, object?> { ["tokensUsed"] = quota.Used, ["tokensPerDay"] = quota.Limit, ["resetsAt"] = quota.ResetsAt });
    }

    private static IResult UnknownModel(string model) =>
        TypedResults.Problem(
            detail: $"There is no model '{model}'; GET /api/models lists the models this node offers.",
            statusCode: StatusCodes.Status400BadRequest,
            title: "Unknown model");

    /// <summary>Reads <c>{"text": "...", "model": "..."}</c> (model optional); a bad body is a 400 or 413 problem, never a 500.</summary>
    internal static async Task<(string Text, string? Model, IResult? Problem)> ReadMessageAsync(HttpRequest request, int maxChars, CancellationToken cancellationToken)
    {
        // JSON escapes can take up to 6 bytes per character; anything bigger is too long whatever it holds.
        var maxBytes = (long)maxChars * 6 + 1024;
        if (request.ContentLength > maxBytes)
        {
            return ("", null, TooLong(maxChars));
        }

        JsonDocument document;
        try
        {
            using var limited = new LimitedStream(request.Body, maxBytes);
            document = await JsonDocument.ParseAsync(limited, cancellationToken: cancellationToken);
        }
        catch (LimitedStream.TooLargeException)
        {
            return ("", null, TooLong(maxChars));
        }
        catch (JsonException)
        {
            return ("", null, BadRequest("The body must be JSON like {\"text\": \"your message\"}."));
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object
                || !document.RootElement.TryGetProperty("text", out var element)
                || element.ValueKind != JsonValueKind.String)
            {
                return ("", null, BadRequest("The body must be a JSON object with a string property \"text\"."));
            }

            var text = element.GetString() ?? "";
            if (string.IsNullOrWhiteSpace(text))
            {
                return ("", null, BadRequest("The message is empty."));
            }

            string? model = null;
            if (document.RootElement.TryGetProperty("model", out var modelElement) && modelElement.ValueKind != JsonValueKind.Null)
            {
                if (modelElement.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(modelElement.GetString()))
                {
                    return ("", null, BadRequest("\"model\" must be the id of a model (GET /api/models), or left out."));
                }

                model = modelElement.GetString();
            }

            return text.Length > maxChars ? ("", null, TooLong(maxChars)) : (text, model, null);
        }
    }

    /// <summary>What a <c>PATCH</c> changes; a property left out of the body is not changed.</summary>
    internal sealed record ConversationChange(string? Title, bool SetsModel, string? Model, bool SetsInstructions, string? Instructions);

    /// <summary>
    /// Reads <c>{"title", "model", "instructions"}</c>, each optional but not all: a title of 1-200 characters after
    /// trimming; a configured model's id (null: the default); instructions up to <c>Limits:MaxInstructionsChars</c>
    /// (null or blank: the configured system prompt).
    /// </summary>
    internal static async Task<(ConversationChange Change, IResult? Problem)> ReadChangeAsync(HttpRequest request, ModelCatalog models, int maxInstructions, CancellationToken cancellationToken)
    {
        const int maxTitle = 200;
        var none = new ConversationChange(null, false, null, false, null);
        JsonDocument document;
        try
        {
            using var limited = new LimitedStream(request.Body, (long)maxInstructions * 6 + 16 * 1024);
            document = await JsonDocument.ParseAsync(limited, cancellationToken: cancellationToken);
        }
        catch (Exception ex) when (ex is JsonException or LimitedStream.TooLargeException)
        {
            return (none, ChangeProblem("Invalid change", "The body must be JSON like {\"title\": \"a name\"}, {\"model\": \"an id\"} or {\"instructions\": \"…\"}."));
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (none, ChangeProblem("Invalid change", "The body must be a JSON object with \"title\", \"model\" or \"instructions\"."));
            }

            string? title = null;
            if (root.TryGetProperty("title", out var titleElement))
            {
                if (titleElement.ValueKind != JsonValueKind.String)
                {
                    return (none, TitleProblem("The title must be a string."));
                }

                title = (titleElement.GetString() ?? "").Trim().ReplaceLineEndings(" ");
                if (title.Length == 0)
                {
                    return (none, TitleProblem("The title is empty."));
                }

                if (title.Length > maxTitle)
                {
                    return (none, TitleProblem($"The title is longer than {maxTitle} characters."));
                }
            }

            var setsModel = root.TryGetProperty("model", out var modelElement);
            string? model = null;
            if (setsModel && modelElement.ValueKind != JsonValueKind.Null)
            {
                model = modelElement.ValueKind == JsonValueKind.String ? modelElement.GetString() : null;
                if (models.Find(model) is null)
                {
                    return (none, UnknownModel(modelElement.ToString()));
                }
            }

            var setsInstructions = root.TryGetProperty("instructions", out var instructionsElement);
            string? instructions = null;
            if (setsInstructions && instructionsElement.ValueKind != JsonValueKind.Null)
            {
                if (instructionsElement.ValueKind != JsonValueKind.String)
                {
                    return (none, ChangeProblem("Invalid instructions", "The instructions must be a string, or null for the default."));
                }

                instructions = instructionsElement.GetString()!.Trim();
                if (instructions.Length > maxInstructions)
                {
                    return (none, ChangeProblem("Invalid instructions", $"The instructions are longer than {maxInstructions} characters."));
                }

                instructions = instructions.Length == 0 ? null : instructions;
            }

            if (title is null && !setsModel && !setsInstructions)
            {
                return (none, ChangeProblem("Invalid change", "The body must set at least one of \"title\", \"model\" and \"instructions\"."));
            }

            return (new ConversationChange(title, setsModel, model, setsInstructions, instructions), null);
        }
    }

    private static IResult ChangeProblem(string title, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: StatusCodes.Status400BadRequest, title: title);

    private static IResult TitleProblem(string detail) =>
        TypedResults.Problem(detail: detail, statusCode: StatusCodes.Status400BadRequest, title: "Invalid title");

    private static IResult BadRequest(string detail) =>
        TypedResults.Problem(detail: detail, statusCode: StatusCodes.Status400BadRequest, title: "Invalid message");

    private static IResult TooLong(int maxChars) =>
        TypedResults.Problem(
            detail: $"The message is longer than {maxChars} characters.",
            statusCode: StatusCodes.Status413PayloadTooLarge,
            title: "Message too long");
}
