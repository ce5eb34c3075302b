package app.botplot.devkit;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;

/**
 * One OpenSearch node for BotPlot's tests and local stack, with its plugins loaded from the
 * classpath (Node's protected constructor, as the test framework's MockNode does), so that no
 * distribution tarball and no plugin installation is needed.
 *
 * <p>Usage: {@code BotPlotNode <home> <http.port> [plugin class...]}. It binds 127.0.0.1 only, is a
 * single-node cluster, writes the ports it bound to {@code <home>/logs/http.ports}, and stops when
 * it gets SIGTERM or when its standard input closes (the process that started it is gone), so it
 * cannot outlive a test session.
 */
public final class BotPlotNode extends Node {

    private BotPlotNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
        super(environment, plugins, true);
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: BotPlotNode <home> <http.port> [plugin class...]");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        Files.createDirectories(home.resolve("logs"));
        Files.createDirectories(home.resolve("config"));
        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", "botplot-dev")
            .put("node.name", "botplot-dev-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", args[1])
            .put("transport.port", "0")
            .put("discovery.type", "single-node")
            .put("node.portsfile", true)
            // a full shared disk must not turn the index read-only or the cluster yellow
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("node.processors", Math.min(2, Runtime.getRuntime().availableProcessors()))
            .build();
        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName("botplot-dev-node");
        LogConfigurator.configureWithoutConfig(settings);

        List<Class<? extends Plugin>> plugins = new ArrayList<>();
        for (int i = 2; i < args.length; i++) {
            plugins.add(Class.forName(args[i]).asSubclass(Plugin.class));
        }
        Environment environment = InternalSettingsPreparer.prepareEnvironment(settings, java.util.Map.of(),
            home.resolve("config"), () -> "botplot-dev-node");
        BotPlotNode node = new BotPlotNode(environment, plugins);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (IOException e) {
                e.printStackTrace();
            }
            stopped.countDown();
        }, "botplot-node-shutdown"));
        node.start();
        System.out.println("BOTPLOT_NODE_STARTED");
        System.out.flush();
        Thread watcher = new Thread(() -> {
            try (InputStream in = System.in) {
                while (in.read() != -1) {
                    // ignore anything written: only the end of the stream matters
                }
            } catch (IOException ignored) {
                // the pipe broke: the parent is gone
            }
            System.exit(0);
        }, "botplot-parent-watch");
        watcher.setDaemon(true);
        watcher.start();
        stopped.await();
    }
}
