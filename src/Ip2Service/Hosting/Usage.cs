namespace Ip2Service.Hosting;

/// <summary>The --help text.</summary>
internal static class Usage
{
    public const string Text = """
        ip2service: send the EC2 metadata API (169.254.169.254:80) of this node's pods to the ready endpoints of
        the iam4kube Service, with iptables DNAT; reject it (TCP reset) while there are none.

        Usage:
          ip2service run    --service-namespace NS --service-name NAME [--service-port http]
                            [--intercept-ip 169.254.169.254] [--intercept-port 80] [--kubeconfig PATH]
                            [--exclude-ip IP[,IP...]] [--iptables-backend nft|legacy|auto]
                            [--ipv6 true|false] [--pod-identity-port NAME] [--resync-interval 5s]
                            [--node-name NODE --startup-taint KEY]
                            [--admin-listen 0.0.0.0:9091] [--log-format json|text] [--log-level info]
          ip2service render --endpoints [IP:PORT[,IP:PORT...]] [--intercept-ip ...] [--intercept-port ...]
                            [--exclude-ip IP[,IP...]]
          ip2service apply  --endpoints [IP:PORT[,IP:PORT...]] [--intercept-ip ...] [--intercept-port ...]
                            [--exclude-ip IP[,IP...]] [--iptables-backend nft|legacy|auto]
          ip2service clean  [--iptables-backend nft|legacy|auto]
          ip2service --help | ip2service COMMAND --help | ip2service --version

        Commands:
          run     Watch the Service's EndpointSlices (label kubernetes.io/service-name=NAME) and keep the rules in
                  step with its ready, not terminating endpoints on the named port (IPv4 and IPv6). Writes fail-closed
                  rules at once, before the first list. /healthz, /readyz (ready after the first sync) and
                  /metrics on --admin-listen. On exit the rules stay.
          render  Print the exact iptables-restore input for that endpoint set, as for a node without ip2service
                  rules. --endpoints "" renders the fail-closed rules.
          apply   Write the rules for that endpoint set once (iptables-restore --noflush).
          clean   Remove every chain and jump ip2service added, and nothing else.

        Options:
          --service-port NAME      the Service port's name ("" for an unnamed port); default http
          --exclude-ip IP          sources that keep the real metadata service, besides the endpoints' own IPs
                                   (the iam4kube pods are always excluded); repeatable
          --iptables-backend B     nft, legacy, or auto (default): where ip2service's chains or the node's
                                   rules already are, else nft
          --ipv6 B                 true (default): also intercept [fd00:ec2::254] (and [fd00:ec2::23]) with
                                   ip6tables, to the Service's IPv6 endpoints
          --pod-identity-port N    also intercept EKS Pod Identity (169.254.170.23:80, [fd00:ec2::23]:80, from
                                   pods and from the node itself) to the Service port named N; "" (default): off
          --resync-interval D      how often the live rules are checked and repaired (100ms-10m; default 5s)
          --node-name NODE         this pod's Node (downward API spec.nodeName), for --startup-taint
          --startup-taint KEY      lift this taint from NODE once the rules are live (e.g.
                                   iam4kube.io/router-not-ready); default: none
          --kubeconfig PATH        default: in-cluster config, else KUBECONFIG / ~/.kube/config
          --log-format F           json (default, compact JSON, one event a line) or text; logs go to stderr
          --log-level L            trace, debug, info (default), warn or error

        Exit codes: 0 done, 1 failed, 2 invalid command line or start-up check failed (one line says which).
        """;

    public static int Print(TextWriter output)
    {
        output.WriteLine(Text);
        return 0;
    }

    public static int PrintVersion(TextWriter output)
    {
        output.WriteLine(Iam4Kube.Shared.CommandLineConvention.VersionLine("ip2service"));
        return 0;
    }
}
