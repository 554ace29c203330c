using System.Collections.Concurrent;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;

namespace SocketRunnerAspire.AppHost.Tests.Otlp;

/// <summary>
/// An OTLP/HTTP (protobuf) receiver on loopback: what the Aspire dashboard's OTLP endpoint receives, kept
/// in memory so tests can read it. The fixture points every project's exporter here.
/// </summary>
public sealed class OtlpCollector : IAsyncDisposable
{
    private readonly WebApplication _app;

    private OtlpCollector(WebApplication app) => _app = app;

    public Uri Endpoint { get; private set; } = null!;

    public ConcurrentQueue<ReceivedSpan> Spans { get; } = new();

    public ConcurrentQueue<ReceivedMetric> Metrics { get; } = new();

    public ConcurrentQueue<ReceivedLog> Logs { get; } = new();

    public static async Task<OtlpCollector> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var collector = new OtlpCollector(app);

        app.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            var export = ExportTraceServiceRequest.Parser.ParseFrom(await ReadBodyAsync(request));
            foreach (var resourceSpans in export.ResourceSpans)
            {
                var service = ServiceName(resourceSpans.Resource);
                foreach (var span in resourceSpans.ScopeSpans.SelectMany(s => s.Spans))
                {
                    collector.Spans.Enqueue(new ReceivedSpan(
                        service, Hex(span.TraceId), Hex(span.SpanId), Hex(span.ParentSpanId), span.Name, span.Kind.ToString(), Attributes(span.Attributes)));
                }
            }

            return Results.Bytes(new ExportTraceServiceResponse().ToByteArray(), "application/x-protobuf");
        });

        app.MapPost("/v1/metrics", async (HttpRequest request) =>
        {
            var export = ExportMetricsServiceRequest.Parser.ParseFrom(await ReadBodyAsync(request));
            foreach (var resourceMetrics in export.ResourceMetrics)
            {
                var service = ServiceName(resourceMetrics.Resource);
                foreach (var metric in resourceMetrics.ScopeMetrics.SelectMany(s => s.Metrics))
                {
                    collector.Metrics.Enqueue(new ReceivedMetric(service, metric.Name));
                }
            }

            return Results.Bytes(new ExportMetricsServiceResponse().ToByteArray(), "application/x-protobuf");
        });

        app.MapPost("/v1/logs", async (HttpRequest request) =>
        {
            var export = ExportLogsServiceRequest.Parser.ParseFrom(await ReadBodyAsync(request));
            foreach (var resourceLogs in export.ResourceLogs)
            {
                var service = ServiceName(resourceLogs.Resource);
                foreach (var log in resourceLogs.ScopeLogs.SelectMany(s => s.LogRecords))
                {
                    collector.Logs.Enqueue(new ReceivedLog(service, log.Body?.StringValue ?? "", Attributes(log.Attributes)));
                }
            }

            return Results.Bytes(new ExportLogsServiceResponse().ToByteArray(), "application/x-protobuf");
        });

        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        collector.Endpoint = new Uri(address);
        return collector;
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    private static string ServiceName(OpenTelemetry.Proto.Resource.V1.Resource? resource) =>
        resource?.Attributes.FirstOrDefault(a => a.Key == "service.name")?.Value.StringValue ?? "";

    private static Dictionary<string, string> Attributes(IEnumerable<KeyValue> attributes) =>
        attributes.GroupBy(a => a.Key).ToDictionary(g => g.Key, g => Text(g.Last().Value));

    private static string Text(AnyValue value) => value.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue ? "true" : "false",
        AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    private static string Hex(ByteString bytes) => Convert.ToHexStringLower(bytes.Span);

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

/// <summary>A span as exported by <paramref name="Service"/> (the resource's <c>service.name</c>: the Aspire resource name).</summary>
public sealed record ReceivedSpan(string Service, string TraceId, string SpanId, string ParentSpanId, string Name, string Kind, IReadOnlyDictionary<string, string> Attributes);

/// <summary>A metric name one service exported.</summary>
public sealed record ReceivedMetric(string Service, string Name);

/// <summary>A structured log record: its message template (body) and attributes.</summary>
public sealed record ReceivedLog(string Service, string Body, IReadOnlyDictionary<string, string> Attributes);
