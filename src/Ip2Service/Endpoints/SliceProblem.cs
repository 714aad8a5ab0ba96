namespace Ip2Service.Endpoints;

/// <summary>Something in an EndpointSlice that ip2service cannot use; logged, counted (by
/// <see cref="Reason"/>) and skipped while the rest of the slice still counts.</summary>
internal sealed record SliceProblem(string Slice, SliceProblemReason Reason, string Detail);
