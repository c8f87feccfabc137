-- Global feature attributions (the model was trained with enable_global_explain).
SELECT *
FROM ML.GLOBAL_EXPLAIN(MODEL `acme-analytics.churn_bqml.model`);
