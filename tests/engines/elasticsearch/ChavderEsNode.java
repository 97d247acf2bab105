import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.PluginsLoader;

/**
 * One real single-node Elasticsearch 8 for Chavder's tests (tests/support/engine_node.py).
 *
 * <p>Usage: {@code ChavderEsNode HOME HTTP_PORT TRANSPORT_PORT}. HOME/modules holds the
 * modules as Elasticsearch's distribution lays them out (engine_node.py copies
 * {@code transport-netty4} from Maven and the analysis module built from
 * tests/engines/elasticsearch/modules); the server runs from the class path. Loopback only, no
 * security (no x-pack), data under HOME/data (kept: a killed node restarts on it). Prints
 * {@code CHAVDER-NODE READY <port>}; SIGTERM or the end of stdin closes it, SIGKILL is a
 * crash.
 */
public final class ChavderEsNode {
    public static void main(final String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: ChavderEsNode HOME HTTP_PORT TRANSPORT_PORT");
            System.exit(2);
        }
        final Path home = Paths.get(args[0]).toAbsolutePath();
        for (final String dir : new String[] {"config", "data", "logs", "plugins", "modules"}) {
            Files.createDirectories(home.resolve(dir));
        }
        final Settings settings = Settings.builder()
                .put("path.home", home.toString())
                .put("path.data", home.resolve("data").toString())
                .put("path.logs", home.resolve("logs").toString())
                .put("cluster.name", "chavder-test")
                .put("node.name", "chavder-es-node")
                .put("http.port", args[1])
                .put("transport.port", args[2])
                .put("network.host", "127.0.0.1")
                .put("discovery.type", "single-node")
                .put("cluster.routing.allocation.disk.threshold_enabled", false)
                .build();
        final Node node;
        try {
            LogConfigurator.configureESLogging();
            LogConfigurator.configureWithoutConfig(settings);
            final Environment env = InternalSettingsPreparer.prepareEnvironment(settings,
                    Map.of(), home.resolve("config"), () -> "chavder-es-node");
            final PluginsLoader plugins = PluginsLoader.createPluginsLoader(
                    PluginsLoader.loadModulesBundles(env.modulesDir()),
                    PluginsLoader.loadPluginsBundles(env.pluginsDir()), Map.of(), false);
            node = new Node(env, plugins);
            node.start();
        } catch (final Throwable e) {
            System.out.println("CHAVDER-NODE FAILED " + e);
            e.printStackTrace(System.out);
            System.exit(1);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (final Exception e) {
                System.err.println("CHAVDER-NODE close failed: " + e);
            }
        }));
        System.out.println("CHAVDER-NODE READY " + args[1]);
        System.out.flush();
        // the test process holds our stdin: when it goes away (even killed), so do we
        while (System.in.read() != -1) {
            // ignore input
        }
        System.exit(0);
    }
}
