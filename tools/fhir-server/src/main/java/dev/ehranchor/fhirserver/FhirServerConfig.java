package dev.ehranchor.fhirserver;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.jpa.api.config.JpaStorageSettings;
import ca.uhn.fhir.jpa.api.config.ThreadPoolFactoryConfig;
import ca.uhn.fhir.jpa.api.dao.IFhirSystemDao;
import ca.uhn.fhir.jpa.binstore.DatabaseBinaryContentStorageSvcImpl;
import ca.uhn.fhir.jpa.config.HibernatePropertiesProvider;
import ca.uhn.fhir.jpa.config.util.HapiEntityManagerFactoryUtil;
import ca.uhn.fhir.jpa.model.config.PartitionSettings;
import ca.uhn.fhir.jpa.model.config.SubscriptionSettings;
import ca.uhn.fhir.jpa.model.dialect.HapiFhirH2Dialect;
import ca.uhn.fhir.jpa.provider.IJpaSystemProvider;
import ca.uhn.fhir.jpa.provider.JpaCapabilityStatementProvider;
import ca.uhn.fhir.jpa.provider.SubscriptionTriggeringProvider;
import ca.uhn.fhir.jpa.search.DatabaseBackedPagingProvider;
import ca.uhn.fhir.jpa.subscription.match.deliver.email.IEmailSender;
import ca.uhn.fhir.narrative2.NullNarrativeGenerator;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.interceptor.CorsInterceptor;
import ca.uhn.fhir.rest.server.provider.ResourceProviderFactory;
import ca.uhn.fhir.rest.server.util.ISearchParamRegistry;
import jakarta.persistence.EntityManagerFactory;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.hibernate.dialect.Dialect;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.orm.jpa.JpaTransactionManager;
import org.springframework.orm.jpa.LocalContainerEntityManagerFactoryBean;
import org.springframework.web.cors.CorsConfiguration;

/** The beans HAPI's JPA configuration expects the application to supply. */
@Configuration
@Import(ThreadPoolFactoryConfig.class)
public class FhirServerConfig {

  @Bean
  public JpaStorageSettings jpaStorageSettings() {
    JpaStorageSettings settings = new JpaStorageSettings();
    // Synthea bundles and the bridge's write-back reference resources only by id: keep the
    // defaults (referential integrity on), but let clients choose ids (PUT Patient/abc) as a
    // hospital's server would.
    settings.setResourceClientIdStrategy(JpaStorageSettings.ClientIdStrategyEnum.ALPHANUMERIC);
    settings.setAllowMultipleDelete(true);
    settings.setExpungeEnabled(true);
    return settings;
  }

  @Bean
  public SubscriptionSettings subscriptionSettings() {
    SubscriptionSettings settings = new SubscriptionSettings();
    settings.addSupportedSubscriptionType(
        org.hl7.fhir.dstu2.model.Subscription.SubscriptionChannelType.RESTHOOK);
    // Activate a new Subscription at once rather than on the next registry refresh.
    settings.setSubscriptionChangeQueuedImmediately(true);
    return settings;
  }

  @Bean
  public PartitionSettings partitionSettings() {
    return new PartitionSettings();
  }

  /** Email subscriptions are not offered; the delivery factory still wants a sender. */
  @Bean
  public IEmailSender emailSender() {
    return details -> {
      throw new UnsupportedOperationException("email subscriptions are disabled on this server");
    };
  }

  @Bean
  public DatabaseBinaryContentStorageSvcImpl binaryStorageSvc() {
    return new DatabaseBinaryContentStorageSvcImpl();
  }

  @Primary
  @Bean
  public LocalContainerEntityManagerFactoryBean entityManagerFactory(
      ConfigurableListableBeanFactory beanFactory,
      FhirContext fhirContext,
      JpaStorageSettings storageSettings,
      DataSource dataSource) {
    LocalContainerEntityManagerFactoryBean factory =
        HapiEntityManagerFactoryUtil.newEntityManagerFactory(beanFactory, fhirContext, storageSettings);
    Map<String, Object> jpa = new HashMap<>();
    jpa.put("hibernate.dialect", HapiFhirH2Dialect.class.getName());
    jpa.put("hibernate.hbm2ddl.auto", "update");
    jpa.put("hibernate.archive.scanner", "org.hibernate.boot.archive.scan.internal.DisabledScanner");
    jpa.put("hibernate.physical_naming_strategy",
        "org.hibernate.boot.model.naming.CamelCaseToUnderscoresNamingStrategy");
    jpa.put("hibernate.jdbc.batch_size", "20");
    jpa.put("hibernate.cache.use_query_cache", "false");
    jpa.put("hibernate.cache.use_second_level_cache", "false");
    jpa.put("hibernate.search.enabled", "false");
    factory.setPersistenceUnitName("HAPI_PU");
    factory.setJpaPropertyMap(jpa);
    factory.setDataSource(dataSource);
    return factory;
  }

  @Primary
  @Bean
  public JpaTransactionManager transactionManager(EntityManagerFactory entityManagerFactory) {
    return new JpaTransactionManager(entityManagerFactory);
  }

  /** Tells HAPI's SQL builders which dialect they talk to. */
  @Primary
  @Bean
  public HibernatePropertiesProvider hibernatePropertiesProvider() {
    HibernatePropertiesProvider provider = new HibernatePropertiesProvider() {
      private final Dialect dialect = new HapiFhirH2Dialect();

      @Override
      public Dialect getDialect() {
        return dialect;
      }
    };
    return provider;
  }

  /** Open CORS: the demo portal on another loopback port reads this server from the browser. */
  @Bean
  public CorsInterceptor corsInterceptor() {
    CorsConfiguration cors = new CorsConfiguration();
    cors.addAllowedOriginPattern("*");
    cors.addAllowedHeader("*");
    cors.setExposedHeaders(List.of("Location", "Content-Location", "ETag", "Last-Modified"));
    cors.setAllowedMethods(List.of("GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "HEAD"));
    cors.setAllowCredentials(false);
    return new CorsInterceptor(cors);
  }

  @Bean
  public RestfulServer restfulServer(
      IFhirSystemDao<?, ?> systemDao,
      ResourceProviderFactory resourceProviders,
      IJpaSystemProvider systemProvider,
      JpaStorageSettings storageSettings,
      ISearchParamRegistry searchParamRegistry,
      IValidationSupport validationSupport,
      DatabaseBackedPagingProvider pagingProvider,
      SubscriptionTriggeringProvider subscriptionTriggeringProvider,
      CorsInterceptor corsInterceptor) {
    FhirContext ctx = systemDao.getContext();
    // Narratives stay as the client sent them; generating them costs CPU the stack does not have.
    ctx.setNarrativeGenerator(new NullNarrativeGenerator());
    // Keep versioned references as written: HAPI strips `/_history/n` from every reference by
    // default, and the bridge's Provenance.target must name the exact version it anchored.
    ctx.getParserOptions().setStripVersionsFromReferences(false);
    RestfulServer server = new RestfulServer(ctx);
    server.registerProviders(resourceProviders.createProviders());
    server.registerProvider(systemProvider);
    // $trigger-subscription: lets tests and operators replay deliveries.
    server.registerProvider(subscriptionTriggeringProvider);
    JpaCapabilityStatementProvider capabilities = new JpaCapabilityStatementProvider(
        server, systemDao, storageSettings, searchParamRegistry, validationSupport);
    capabilities.setImplementationDescription("ehr-anchor HAPI FHIR R4 Server");
    server.setServerConformanceProvider(capabilities);
    server.setPagingProvider(pagingProvider);
    server.setDefaultResponseEncoding(EncodingEnum.JSON);
    server.registerInterceptor(corsInterceptor);
    return server;
  }

  @Bean
  public ServletRegistrationBean<RestfulServer> fhirServlet(RestfulServer server) {
    ServletRegistrationBean<RestfulServer> registration = new ServletRegistrationBean<>(server, "/fhir/*");
    registration.setLoadOnStartup(1);
    return registration;
  }
}
