import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.Paths;

import org.codelibs.opensearch.runner.OpenSearchRunner;

/**
 * One real single-node search engine for Chavder's test suite (tests/support/engine_node.py).
 *
 * <p>Usage: {@code java -Xmx512m -cp build/engines/opensearch/classes:<classpath> ChavderOpenSearchNode
 * HOME HTTP_PORT TRANSPORT_PORT}. Loopback only, security off, node data under HOME (kept, so a
 * killed node restarts on the same data). Prints {@code CHAVDER-NODE READY <port>} once the
 * cluster is yellow and stays up until stdin ends or SIGTERM (clean close) or SIGKILL (a crash).
 */
public final class ChavderOpenSearchNode {
    public static void main(final String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: ChavderOpenSearchNode HOME HTTP_PORT TRANSPORT_PORT");
            System.exit(2);
        }
        final Path home = Paths.get(args[0]).toAbsolutePath();
        final String httpPort = args[1];
        final String transportPort = args[2];
        final OpenSearchRunner runner = new OpenSearchRunner();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runner.close();
            } catch (final IOException e) {
                System.err.println("CHAVDER-NODE close failed: " + e);
            }
        }));
        try {
            runner.onBuild((number, settings) -> {
                settings.put("http.port", httpPort);
                settings.put("transport.port", transportPort);
                settings.put("network.host", "127.0.0.1");
                settings.put("discovery.type", "single-node");
                settings.put("cluster.routing.allocation.disk.threshold_enabled", "false");
                settings.put("action.auto_create_index", "true");
                settings.put("http.cors.enabled", "false");
            }).build(OpenSearchRunner.newConfigs().basePath(home.toString()).numOfNode(1)
.clusterName("chavder-test"));
            runner.ensureYellow();
        } catch (final Throwable e) {
            System.err.println("CHAVDER-NODE FAILED " + e);
            e.printStackTrace();
            System.exit(1);
        }
        System.out.println("CHAVDER-NODE READY " + httpPort);
        System.out.flush();
        // the test process holds our stdin: when it goes away (even killed), so do we
        while (System.in.read() != -1) {
            // ignore input
        }
        System.exit(0);
    }
}
