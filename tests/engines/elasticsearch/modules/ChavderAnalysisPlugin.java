import java.util.Map;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.LowerCaseFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.ar.ArabicAnalyzer;
import org.apache.lucene.analysis.ckb.SoraniAnalyzer;
import org.apache.lucene.analysis.miscellaneous.ASCIIFoldingFilter;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.index.analysis.AbstractIndexAnalyzerProvider;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.elasticsearch.index.analysis.AnalyzerProvider;
import org.elasticsearch.index.analysis.NormalizingTokenFilterFactory;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

/**
 * The analysis-common names Chavder's index template uses, for the Elasticsearch 8 test node
 * (tests/engines/elasticsearch/ChavderEsNode.java).
 *
 * <p>Elasticsearch's {@code analysis-common} module is not published to Maven Central; this
 * module registers {@code arabic}, {@code sorani}, {@code lowercase} and {@code asciifolding}
 * on the same Lucene classes, with the same defaults, as analysis-common does
 * (ArabicAnalyzerProvider, SoraniAnalyzerProvider, LowerCaseTokenFilterFactory,
 * ASCIIFoldingTokenFilterFactory), so the template is applied unchanged.
 */
public final class ChavderAnalysisPlugin extends Plugin implements AnalysisPlugin {
    @Override
    public Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> getAnalyzers() {
        return Map.of(
                "arabic", (indexSettings, env, name, settings) -> provider(name, settings,
                        new ArabicAnalyzer()),
                "sorani", (indexSettings, env, name, settings) -> provider(name, settings,
                        new SoraniAnalyzer()));
    }

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        return Map.of(
                "lowercase", (indexSettings, env, name, settings) -> new Filter(name, settings) {
                    @Override
                    public TokenStream create(final TokenStream in) {
                        return new LowerCaseFilter(in);
                    }
                },
                "asciifolding", (indexSettings, env, name, settings) -> new Filter(name, settings) {
                    @Override
                    public TokenStream create(final TokenStream in) {
                        return new ASCIIFoldingFilter(in, false);
                    }
                });
    }

    private static <A extends Analyzer> AnalyzerProvider<A> provider(final String name,
            final Settings settings, final A analyzer) {
        return new AbstractIndexAnalyzerProvider<A>(name, settings) {
            @Override
            public A get() {
                return analyzer;
            }
        };
    }

    abstract static class Filter extends AbstractTokenFilterFactory
            implements NormalizingTokenFilterFactory {
        Filter(final String name, final Settings settings) {
            super(name, settings);
        }
    }
}
