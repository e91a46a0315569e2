-- Bias and scatter of observed intensity against the Allen et al. (2012) prediction per expedition:
-- bias = mean residual, scatter = sample standard deviation of the residuals, and how many sites exceed
-- the prediction by more than one model sigma.
SELECT expedition_id,
       count(*) AS site_count,
       avg(intensity_residual) AS residual_bias,
       stddev_samp(intensity_residual) AS residual_scatter,
       avg(ipe_sigma) AS ipe_sigma_mean,
       count(*) FILTER (WHERE intensity_residual > ipe_sigma) AS sites_above_one_sigma,
       max(observed_intensity) AS observed_intensity_max,
       arg_max(site_id, observed_intensity) AS observed_intensity_max_site
FROM analytics_intensity_residuals
GROUP BY expedition_id
