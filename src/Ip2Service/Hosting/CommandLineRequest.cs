namespace Ip2Service.Hosting;

/// <summary>What the command line asks for: one of <see cref="RunOptions"/>, <see cref="RulesOptions"/>
/// (render, apply), <see cref="CleanOptions"/> or <see cref="HelpRequest"/>.</summary>
internal abstract record CommandLineRequest;
